/**
 * A byte-level line reader with caps, for lockstep dialogues: bounded memory, bare-LF and truncation marks,
 * and detach() that discards unread bytes before a TLS upgrade.
 */
import type { Duplex } from 'node:stream';
import { ConnectionClosedError } from '../errors.js';
import { monotonicMs } from './clock.js';

/** One line as the server sent it, without its line end. */
export interface Line {
  /** The line decoded as UTF-8 (invalid sequences become U+FFFD); may hold control characters. */
  text: string;
  /** Bytes of the line on the wire, line end excluded. */
  bytes: number;
  /** The line was longer than the cap: `text` holds its first `lineBytes` bytes, the rest was dropped. */
  truncated: boolean;
  /** The line ended with a bare LF instead of CRLF (RFC 5321 §2.3.8 requires CRLF). */
  bareLf: boolean;
  /** The connection ended before a line end arrived. */
  unterminated: boolean;
}

export interface ReaderLimits {
  lineBytes: number;
}

/**
 * A byte-level line reader over a socket, for lockstep dialogues: one reader waits at a time.
 * Memory is bounded: overlong lines are cut at `lineBytes` and the remainder is dropped as it arrives,
 * and the socket is paused while more than a few lines' worth of bytes wait unread.
 */
export class LineReader {
  private buffer: Buffer = Buffer.alloc(0);
  private discarding = false;
  private skipping = 0;
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private paused = false;
  private readonly highWater: number;
  /** Every byte received through this reader, for the transcript's accounting. */
  receivedBytes = 0;
  /** monotonicMs() when the first byte arrived (a greeting that began and did not end says when it began). */
  firstByteAt: number | undefined;

  constructor(
    private readonly socket: Duplex,
    private readonly limits: ReaderLimits,
  ) {
    this.highWater = limits.lineBytes * 4;
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  /** The other side has closed (end of stream, a close or an error): no more bytes will come. */
  get closed(): boolean {
    return this.ended || this.failure !== undefined;
  }

  private readonly onData = (chunk: Buffer) => {
    if (this.receivedBytes === 0) this.firstByteAt = monotonicMs();
    this.receivedBytes += chunk.length;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    this.drop();
    if (this.buffer.length > this.highWater && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    this.notify();
  };

  private readonly onEnd = () => {
    this.ended = true;
    this.notify();
  };

  private readonly onError = (error: Error) => {
    this.failure ??= error;
    this.notify();
  };

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Drops bytes owed to a skipped literal, then the tail of a line that was cut. */
  private drop(): void {
    if (this.skipping > 0 && this.buffer.length > 0) {
      const n = Math.min(this.skipping, this.buffer.length);
      this.skipping -= n;
      this.buffer = this.buffer.subarray(n);
    }
    if (this.discarding && this.skipping === 0) {
      const lf = this.buffer.indexOf(10);
      if (lf < 0) {
        this.buffer = Buffer.alloc(0);
      } else {
        this.buffer = this.buffer.subarray(lf + 1);
        this.discarding = false;
      }
    }
  }

  private take(end: number, consumed: number): Buffer {
    const bytes = this.buffer.subarray(0, end);
    this.buffer = this.buffer.subarray(consumed);
    return bytes;
  }

  /** Resumes a paused socket once the unread bytes have shrunk below the high-water mark. */
  private refill(): void {
    if (this.paused && this.buffer.length <= this.highWater) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private tryLine(): Line | undefined {
    this.drop();
    if (this.skipping > 0) return undefined;
    const { lineBytes } = this.limits;
    const lf = this.buffer.indexOf(10);
    if (lf >= 0 && lf <= lineBytes) {
      const bareLf = lf === 0 || this.buffer[lf - 1] !== 13;
      const bytes = this.take(bareLf ? lf : lf - 1, lf + 1);
      return {
        text: bytes.toString('utf8'),
        bytes: bytes.length,
        truncated: false,
        bareLf,
        unterminated: false,
      };
    }
    if (this.buffer.length > lineBytes) {
      const bytes = this.take(lineBytes, lineBytes);
      this.discarding = true;
      this.drop();
      return {
        text: bytes.toString('utf8'),
        bytes: bytes.length,
        truncated: true,
        bareLf: false,
        unterminated: false,
      };
    }
    if ((this.ended || this.failure) && this.buffer.length > 0) {
      const bytes = this.take(this.buffer.length, this.buffer.length);
      return {
        text: bytes.toString('utf8'),
        bytes: bytes.length,
        truncated: false,
        bareLf: false,
        unterminated: true,
      };
    }
    return undefined;
  }

  /** The next line when it has arrived whole already (or is the last, unterminated, of an ended stream). */
  lineNow(): Line | undefined {
    const line = this.tryLine();
    this.refill();
    return line;
  }

  /** The next line; rejects when the connection ends or fails first. */
  readLine(): Promise<Line> {
    return new Promise<Line>((resolve, reject) => {
      const attempt = () => {
        const line = this.tryLine();
        this.refill();
        if (line) return resolve(line);
        if (this.failure) return reject(this.failure);
        if (this.ended) return reject(new ConnectionClosedError());
        this.wake = attempt;
      };
      attempt();
    });
  }

  /** Skips the next `count` bytes without keeping them (an IMAP literal already judged small enough). */
  skip(count: number): void {
    this.skipping += count;
    this.drop();
  }

  /**
   * Takes every byte received and not yet read, as lines (the last one unterminated when no line end
   * arrived yet), at most `maxLines`; the rest is dropped. For bytes that arrived when no reply was due.
   */
  drainPending(maxLines = 20): Line[] {
    const lines: Line[] = [];
    this.drop();
    while (this.buffer.length > 0 && this.skipping === 0) {
      const line = this.tryLine();
      if (line) {
        if (lines.length < maxLines) lines.push(line);
        continue;
      }
      const bytes = this.take(this.buffer.length, this.buffer.length);
      if (lines.length < maxLines)
        lines.push({
          text: bytes.toString('utf8'),
          bytes: bytes.length,
          truncated: false,
          bareLf: false,
          unterminated: true,
        });
    }
    this.refill();
    return lines;
  }

  /** Bytes received and not yet read. */
  get pending(): number {
    return this.buffer.length;
  }

  /**
   * Stops reading from the socket and discards every byte received but not read, returning their count.
   * Before a TLS upgrade this is mandatory (RFC 3207 §6, RFC 2595 §3.1): bytes sent before the
   * handshake must never be taken as part of the protected session.
   */
  detach(): number {
    const discarded = this.buffer.length;
    this.buffer = Buffer.alloc(0);
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    this.notify();
    return discarded;
  }
}
