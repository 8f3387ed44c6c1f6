/**
 * One connection's dialogue: socket (plain, then maybe TLS), line reader, deadline, transcript and timings;
 * strictly lockstep, setting aside bytes no command asked for.
 */
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import type { Phase } from '../errors.js';
import { errorCode, FilteredEarlyError } from '../errors.js';
import type { Limits } from '../limits.js';
import { monotonicMs } from '../net/clock.js';
import { Deadline } from '../net/deadline.js';
import { connectTcp, connectTcpWithExtraSyn } from '../net/dial.js';
import { type Line, LineReader } from '../net/reader.js';
import { startTls, type TlsOptions } from '../tls/handshake.js';
import type { ConnectWatch, Timings, TranscriptEntry } from '../types/index.js';

/**
 * One connection's dialogue: the socket (plain, then maybe TLS), its line reader, the deadline, the
 * transcript and the phase timings. Protocols talk through it in lockstep: write, then read a whole reply.
 */
export class Session {
  readonly transcript: TranscriptEntry[] = [];
  readonly timings: Timings = { total: 0 };
  readonly deadline: Deadline;
  /** monotonicMs() at which this session's transcript clock starts. */
  readonly began: number;
  /** Date.now() when the session was made: the start of its port's try (PortResult.startedAt). */
  readonly startedMs = Date.now();
  /** Server lines that arrived when no reply was due (before a command was written), as sent. */
  readonly unsolicited: string[] = [];
  private sockets: net.Socket[] = [];
  private reader: LineReader | undefined;
  private socket: Duplex | undefined;
  tlsActive = false;
  /** Bytes the server sent after its STARTTLS/STLS OK, before the handshake, that upgrade() dropped (RFC 3207 §6). */
  bytesAfterOk = 0;

  constructor(
    readonly limits: Limits,
    signal: AbortSignal | undefined,
    /** An existing deadline to share (a second connection for the same port spends the same budget). */
    deadline?: Deadline,
    /** A clock origin to share, so a second connection's transcript continues the first's timeline. */
    origin?: number,
    /** Awaited before every connection this session opens (batch mode paces connections to an address here). */
    private readonly beforeConnect?: () => Promise<void>,
    /**
     * Called with every TCP connection once it is up, before a byte is sent on it; throws to refuse it (`serve`
     * checks the remote address against its allowed networks here). The socket is then destroyed.
     */
    private readonly afterConnect?: (socket: net.Socket) => void,
  ) {
    this.deadline = deadline ?? new Deadline(limits.portMs, signal);
    this.began = origin ?? monotonicMs();
  }

  private elapsed(): number {
    return Math.round((monotonicMs() - this.began) * 10) / 10;
  }

  note(text: string): void {
    this.transcript.push({ at: this.elapsed(), dir: '-', text, tls: this.tlsActive });
  }

  /** Runs one phase under its deadline and adds its duration to the phase's timing. */
  async phase<T>(phase: Phase, ms: number, work: () => Promise<T>): Promise<T> {
    const start = monotonicMs();
    try {
      return await this.deadline.run(phase, ms, work);
    } finally {
      this.timings[phase] = Math.round(((this.timings[phase] ?? 0) + monotonicMs() - start) * 10) / 10;
    }
  }

  private track<S extends net.Socket>(socket: S): void {
    // A late error after we stopped listening must never become an uncaught exception.
    socket.on('error', () => {});
    this.sockets.push(socket);
  }

  /** Reads and writes through `socket` from now on (tests hand in a scripted stream here). */
  attach(socket: Duplex): void {
    this.socket = socket;
    this.reader = new LineReader(socket, this.limits);
  }

  async connect(address: string, port: number, watch?: ConnectWatch): Promise<void> {
    this.attach(await this.connectRaw(address, port, watch));
  }

  /**
   * A TCP connection with no reader attached, for implicit TLS: the caller's next step is handshake(), so
   * the connect and the handshake are timed apart and a filtered port is never reported as a TLS failure.
   * With a watch (fast-filtered.ts), the connect reports how it went, sends one extra SYN when nothing has
   * answered after 0.5 s, and ends early as filtered when the host's coordinator has the evidence.
   */
  async connectRaw(address: string, port: number, watch?: ConnectWatch): Promise<net.Socket> {
    if (this.beforeConnect) {
      // Waiting for our turn at the address is not the server's time: the port's deadline moves by as much.
      const waitStart = monotonicMs();
      await this.beforeConnect();
      this.deadline.extend(monotonicMs() - waitStart);
    }
    const socket = await this.connectTcp(address, port, watch);
    if (this.afterConnect) {
      try {
        this.afterConnect(socket);
      } catch (error) {
        socket.destroy();
        throw error;
      }
    }
    return socket;
  }

  private connectTcp(address: string, port: number, watch: ConnectWatch | undefined): Promise<net.Socket> {
    return this.phase('connect', this.limits.connectMs, async () => {
      if (!watch) return connectTcp(address, port, (s) => this.track(s));
      watch.started();
      const start = monotonicMs();
      const early = watch.verdict.then((evidence) => {
        throw new FilteredEarlyError(evidence);
      });
      try {
        const socket = await Promise.race([
          connectTcpWithExtraSyn(
            address,
            port,
            (s) => this.track(s),
            watch.extraSynsAtMs,
            (atMs) => watch.mayAddSyn(atMs),
            () => {
              watch.extraSent();
              this.note(
                `no answer to the SYN after ${Math.round(monotonicMs() - start)} ms while the other ports answered at once: one more on a fresh socket`,
              );
            },
          ),
          early,
        ]);
        watch.answered(monotonicMs() - start);
        return socket;
      } catch (error) {
        if (errorCode(error) === 'ECONNREFUSED') watch.answered(monotonicMs() - start);
        else watch.unanswered();
        throw error;
      } finally {
        early.catch(() => {});
      }
    });
  }

  /** A TLS handshake over `raw`, under the TLS deadline; the reader then reads the protected stream. */
  async handshake(raw: net.Socket, options: TlsOptions): Promise<tls.TLSSocket> {
    const secure = await this.phase('tls', this.limits.tlsMs, () =>
      startTls({ socket: raw }, options, (s) => this.track(s)),
    );
    this.tlsActive = true;
    this.attach(secure);
    return secure;
  }

  /**
   * STARTTLS: drops every byte received after the server's OK (their count is returned; RFC 3207 §6),
   * then upgrades the same socket. The caller must re-read capabilities: nothing learnt before is trusted.
   */
  async upgrade(options: TlsOptions): Promise<{ discarded: number; socket: tls.TLSSocket }> {
    const raw = this.socket;
    if (!raw || !this.reader) throw new Error('upgrade before connect');
    const discarded = this.reader.detach();
    this.bytesAfterOk += discarded;
    this.reader = undefined;
    const socket = await this.handshake(raw as net.Socket, options);
    return { discarded, socket };
  }

  /**
   * Writes one command. Lockstep: any byte already waiting belongs to no command, so it is taken out first,
   * recorded as unsolicited, and can never be read as this command's reply. IMAP servers may send untagged
   * responses at any time (RFC 9051 §7), so those are allowed there (`untaggedAllowed`).
   */
  send(
    line: string,
    options: { untaggedAllowed?: boolean; keepPending?: boolean; shown?: string } = {},
  ): void {
    if (!this.socket) throw new Error('send before connect');
    // keepPending: a nudge to a silent server, whose waiting bytes are an unfinished greeting, not extra.
    if (!options.keepPending) this.takeUnsolicited(options.untaggedAllowed === true);
    // shown: what the transcript records instead of a line that carries a secret (the login check).
    this.transcript.push({ at: this.elapsed(), dir: 'C', text: options.shown ?? line, tls: this.tlsActive });
    this.socket.write(`${line}\r\n`);
  }

  private takeUnsolicited(untaggedAllowed: boolean): void {
    if (!this.reader || this.reader.pending === 0) return;
    for (const line of this.reader.drainPending()) {
      const allowed = untaggedAllowed && /^\* /.test(line.text);
      const entry: TranscriptEntry = { at: this.elapsed(), dir: 'S', text: line.text, tls: this.tlsActive };
      if (!allowed) entry.unsolicited = true;
      if (line.truncated) entry.truncated = true;
      if (line.bareLf) entry.bareLf = true;
      this.transcript.push(entry);
      if (!allowed && this.unsolicited.length < 10) this.unsolicited.push(line.text);
    }
  }

  /**
   * Sends several lines in ONE write. Only the opt-in injection check uses it: the default dialogue is
   * strictly lockstep.
   */
  sendPipelined(lines: string[]): void {
    if (!this.socket) throw new Error('send before connect');
    for (const line of lines)
      this.transcript.push({ at: this.elapsed(), dir: 'C', text: line, tls: this.tlsActive });
    this.socket.write(lines.map((line) => `${line}\r\n`).join(''));
  }

  /** Reads one line under the phase's deadline and records it in the transcript. */
  readLine(phase: Phase, ms: number): Promise<Line> {
    const reader = this.reader;
    if (!reader) throw new Error('read before connect');
    // A line already here (the rest of a multi-line reply, mostly): no deadline to arm, as none could end it
    // first; an abort still ends the read, as under the deadline (issue 28: a timer a line cost about 3 µs).
    const ready = this.deadline.aborted ? undefined : reader.lineNow();
    if (ready) {
      this.timings[phase] ??= 0;
      return Promise.resolve(this.heard(ready));
    }
    return this.phase(phase, ms, async () => this.heard(await reader.readLine()));
  }

  /** Records a line read in the transcript. */
  private heard(line: Line): Line {
    const entry: TranscriptEntry = { at: this.elapsed(), dir: 'S', text: line.text, tls: this.tlsActive };
    if (line.truncated) entry.truncated = true;
    if (line.bareLf) entry.bareLf = true;
    this.transcript.push(entry);
    return line;
  }

  /** Skips an IMAP literal's bytes. */
  skip(count: number): void {
    this.reader?.skip(count);
  }

  /**
   * Bytes received on the connection being read (before STARTTLS the plaintext, after a handshake the protected
   * stream). Tells a greeting that has begun, however little of it, from complete silence.
   */
  get receivedBytes(): number {
    return this.reader?.receivedBytes ?? 0;
  }

  /** Bytes received that no read has taken yet (words no command asked for, or a reply still arriving). */
  get pendingBytes(): number {
    return this.reader?.pending ?? 0;
  }

  /**
   * Whether the server hangs up within `ms` (at once when it already has): a close sent right after its last
   * words arrives with them or just after. No connection counts as hung up.
   */
  hungUp(ms: number): Promise<boolean> {
    const socket = this.socket;
    if (!this.reader || !socket || this.reader.closed) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const done = (closed: boolean) => {
        clearTimeout(timer);
        socket.off('end', onClose).off('close', onClose).off('error', onClose);
        resolve(closed);
      };
      const onClose = () => done(true);
      const timer = setTimeout(() => done(false), ms);
      socket.once('end', onClose).once('close', onClose).once('error', onClose);
    });
  }

  /** When the first byte arrived on the connection being read, on the transcript's clock (ms); undefined before. */
  get firstByteAt(): number | undefined {
    const at = this.reader?.firstByteAt;
    return at === undefined ? undefined : Math.round((at - this.began) * 10) / 10;
  }

  /**
   * Calls `listener` once, when the next bytes arrive on the socket being read (a greeting beginning); returns a
   * function that stops listening. Nothing is read or consumed here: the reader still gets every byte.
   */
  onceReceived(listener: () => void): () => void {
    const socket = this.socket;
    if (!socket) return () => {};
    const once = () => {
      socket.off('data', once);
      listener();
    };
    socket.on('data', once);
    return () => socket.off('data', once);
  }

  /**
   * Records the bytes received and not yet read (a line with no line end yet) in the transcript as the server's,
   * after a note saying they are unfinished; returns their text, or undefined when none wait. For the evidence of
   * a greeting that began and did not end.
   */
  recordUnfinished(): string | undefined {
    if (!this.reader || this.reader.pending === 0) return undefined;
    const lines = this.reader.drainPending();
    this.note(`${lines.reduce((sum, line) => sum + line.bytes, 0)} bytes received without a line end yet:`);
    for (const line of lines) {
      const entry: TranscriptEntry = { at: this.elapsed(), dir: 'S', text: line.text, tls: this.tlsActive };
      if (line.truncated) entry.truncated = true;
      this.transcript.push(entry);
    }
    return lines.map((line) => line.text).join('\n');
  }

  get localAddress(): string | undefined {
    return (this.socket as Partial<net.Socket> | undefined)?.localAddress;
  }

  /** Destroys every socket this session opened. Safe to call more than once. */
  close(): void {
    this.timings.total = this.elapsed();
    // Outermost first: a TLS socket before the TCP socket it wraps. The other order crashed Node 20.20
    // (SIGSEGV at exit) after an implicit-TLS handshake whose TCP socket was destroyed first.
    for (const socket of this.sockets.reverse()) socket.destroy();
    this.sockets = [];
    this.socket = undefined;
    this.reader = undefined;
  }
}
