/** A DNS server on loopback whose answers the test writes: rcodes (SERVFAIL, NXDOMAIN) and records for any name. */
import dgram from 'node:dgram';
import * as packet from 'dns-packet';

/** A DNS server on loopback: `answer` gives each question its rcode and records (loopback addresses only). */
export async function loopbackDns(
  answer: (name: string, type: string) => { rcode?: number; answers?: packet.Answer[] },
): Promise<{ server: string; close: () => void }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (raw, from) => {
    try {
      const query = packet.decode(raw);
      const question = query.questions?.[0];
      if (!question) return;
      const { rcode = 0, answers = [] } = answer(question.name.toLowerCase(), question.type);
      const reply = packet.encode({
        type: 'response',
        id: query.id ?? 0,
        flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | rcode,
        questions: query.questions ?? [],
        answers,
      });
      socket.send(reply, from.port, from.address);
    } catch {
      // a malformed query gets no answer
    }
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { server: `127.0.0.1:${socket.address().port}`, close: () => socket.close() };
}
