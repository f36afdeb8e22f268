import net from "node:net";
import { LampError } from "../core/errors.js";

/** CLIENT_SSL in a MySQL handshake's capability flags: the client asks for TLS before logging in. */
const clientSsl = 0x0800;

/** What Aurora (MySQL 8 with require_secure_transport=ON) answers a client that does not ask for TLS. */
const insecureTransportMessage = "Connections using insecure transport are prohibited while --require_secure_transport=ON.";
const insecureTransportErrno = 3159;

/**
 * A MySQL ERR packet (protocol 4.1): header (length, sequence id), 0xFF, the error number, `#` and
 * the SQL state, then the message.
 */
function errorPacket(sequence: number, errno: number, sqlState: string, message: string): Buffer {
  const payload = Buffer.concat([Buffer.from([0xff, errno & 0xff, errno >> 8]), Buffer.from(`#${sqlState}${message}`, "utf8")]);
  const header = Buffer.from([payload.length & 0xff, (payload.length >> 8) & 0xff, payload.length >> 16, sequence & 0xff]);
  return Buffer.concat([header, payload]);
}

/**
 * Whether the client's first packet (its SSL request or its login) asks for TLS; undefined while
 * too few bytes have arrived to tell.
 */
function asksForTls(firstBytes: Buffer): boolean | undefined {
  if (firstBytes.length < 6) return undefined;
  return (firstBytes.readUInt16LE(4) & clientSsl) !== 0;
}

export interface TlsGate {
  port: number;
  close(): Promise<void>;
}

/**
 * The local server's front door on 127.0.0.1, in front of MariaDB's own port. MariaDB 10.11 with
 * require_secure_transport refuses a client without TLS as "Access denied for user … (using
 * password: YES)", which sends a developer looking for a wrong password; Aurora says what is wrong.
 * So the gate reads the client's first packet: a client that does not ask for TLS gets Aurora's
 * error (3159) and is closed; one that does is joined to the server untouched (the TLS session is
 * the client's and the server's; the gate passes bytes it cannot read).
 */
export async function startTlsGate(serverPort: number): Promise<TlsGate> {
  const sockets = new Set<net.Socket>();
  const gate = net.createServer((client) => {
    sockets.add(client);
    client.once("close", () => sockets.delete(client));
    const server = net.connect(serverPort, "127.0.0.1");
    // The protocol is small packets back and forth (the TLS handshake, one query, one answer): Nagle's
    // delay would add milliseconds to each connection.
    client.setNoDelay(true);
    server.setNoDelay(true);
    sockets.add(server);
    server.once("close", () => sockets.delete(server));
    const end = () => {
      client.destroy();
      server.destroy();
    };
    client.once("error", end);
    server.once("error", end);
    client.once("close", () => server.end());
    server.once("close", () => client.end());
    // The server's greeting goes out as it comes; the client's first packet decides.
    server.pipe(client);
    let first = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      first = Buffer.concat([first, chunk]);
      const tls = asksForTls(first);
      if (tls === undefined) return;
      client.off("data", onData);
      if (!tls) {
        server.unpipe(client);
        server.destroy();
        client.end(errorPacket(first[3]! + 1, insecureTransportErrno, "HY000", insecureTransportMessage));
        return;
      }
      server.write(first);
      client.pipe(server);
    };
    client.on("data", onData);
  });
  gate.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    gate.once("error", (error) => reject(new LampError("io", `The local database cannot listen on 127.0.0.1: ${error.message}`)));
    gate.listen(0, "127.0.0.1", () => resolve());
  });
  // Only the server and its open connections keep lamp running, not the gate.
  gate.unref();
  return {
    port: (gate.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        gate.close(() => resolve());
      }),
  };
}
