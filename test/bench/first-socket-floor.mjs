// The floor for "first socket": a bare node script that opens one TCP connection.
import net from 'node:net';

net.connect(25, '127.0.0.1').on('error', () => {});
