/**
 * The emulator's only I/O: a datagram transport. The real one wraps a Node `dgram` socket; the
 * in-memory pair lets tests run the whole emulator logic without root or sockets.
 */
import * as dgram from "node:dgram";
import { GENEVE_PORT } from "@tollgate/appliance";

export interface RemoteInfo {
  readonly address: string;
  readonly port: number;
}

export interface DatagramTransport {
  /** Local UDP port (6081 for a GWLB-side peer). */
  readonly localPort: number;
  send(data: Uint8Array, port: number, address: string): Promise<void>;
  /** Registers the receive handler (one per transport; a later call replaces it). */
  onMessage(handler: (data: Buffer, from: RemoteInfo) => void): void;
  close(): Promise<void>;
}

export interface UdpTransportOptions {
  /** Address to bind. Defaults to "0.0.0.0". */
  readonly address?: string;
  /** Port to bind; 0 picks an ephemeral port. Defaults to 6081. */
  readonly port?: number;
  /** SO_RCVBUF / SO_SNDBUF in bytes. Default: the kernel's. */
  readonly receiveBufferSize?: number;
  readonly sendBufferSize?: number;
  /** SO_REUSEADDR. Defaults to false. */
  readonly reuseAddr?: boolean;
}

/** Opens a UDP socket (IPv4) as a {@link DatagramTransport}. */
export async function openUdpTransport(
  options: UdpTransportOptions = {},
): Promise<DatagramTransport> {
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: options.reuseAddr ?? false });
  let handler: (data: Buffer, from: RemoteInfo) => void = () => {};
  socket.on("message", (msg, rinfo) => handler(msg, { address: rinfo.address, port: rinfo.port }));
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(options.port ?? GENEVE_PORT, options.address ?? "0.0.0.0", () => {
      socket.off("error", reject);
      resolve();
    });
  });
  // Errors after bind (e.g. ICMP port unreachable surfacing as ECONNREFUSED) must not crash.
  socket.on("error", () => {});
  if (options.receiveBufferSize) socket.setRecvBufferSize(options.receiveBufferSize);
  if (options.sendBufferSize) socket.setSendBufferSize(options.sendBufferSize);
  return {
    localPort: socket.address().port,
    send: (data, port, address) =>
      new Promise<void>((resolve, reject) =>
        socket.send(data, port, address, (err) => (err ? reject(err) : resolve())),
      ),
    onMessage: (h) => {
      handler = h;
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** An in-memory transport: what one side sends, the other receives (asynchronously). */
export class MemoryTransport implements DatagramTransport {
  peer: MemoryTransport | undefined;
  readonly sent: { data: Buffer; port: number; address: string }[] = [];
  private handler: (data: Buffer, from: RemoteInfo) => void = () => {};
  closed = false;

  constructor(
    readonly address: string,
    readonly localPort: number,
  ) {}

  async send(data: Uint8Array, port: number, address: string): Promise<void> {
    if (this.closed) throw new Error("transport closed");
    const copy = Buffer.from(data);
    this.sent.push({ data: copy, port, address });
    const peer = this.peer;
    if (peer && !peer.closed && peer.address === address && peer.localPort === port) {
      setImmediate(() => peer.deliver(copy, { address: this.address, port: this.localPort }));
    }
  }

  /** Delivers a datagram to this transport's handler as if it came from `from`. */
  deliver(data: Buffer, from: RemoteInfo): void {
    if (!this.closed) this.handler(data, from);
  }

  onMessage(handler: (data: Buffer, from: RemoteInfo) => void): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Two connected in-memory transports. */
export function memoryTransportPair(
  a: RemoteInfo,
  b: RemoteInfo,
): [MemoryTransport, MemoryTransport] {
  const ta = new MemoryTransport(a.address, a.port);
  const tb = new MemoryTransport(b.address, b.port);
  ta.peer = tb;
  tb.peer = ta;
  return [ta, tb];
}
