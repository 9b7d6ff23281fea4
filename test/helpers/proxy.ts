import net from 'node:net';

export type ProxyMode = 'pass' | 'blackhole' | 'drop' | 'slow' | 'narrow';

/**
 * A TCP proxy in front of a real server (PostgreSQL, the S3-protocol server): it passes bytes
 * through, swallows them (a network that hangs), cuts every connection (a server that is gone)
 * delays every chunk (a slow link), or passes at most `bytesPerSecond` each way, holding the
 * sender back as a narrow link does (a phone uploading).
 */
export class TcpProxy {
  mode: ProxyMode = 'pass';
  delayMs = 300;
  bytesPerSecond = 1024 * 1024;
  readonly #sockets = new Set<net.Socket>();
  #server: net.Server | undefined;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<number> {
    this.#server = net.createServer((client) => this.#connect(client));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as net.AddressInfo).port;
    return this.port;
  }

  setMode(mode: ProxyMode): void {
    this.mode = mode;
    if (mode === 'drop') for (const socket of this.#sockets) socket.destroy();
  }

  #connect(client: net.Socket): void {
    if (this.mode === 'drop') {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.targetPort, this.targetHost);
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    const forward = (from: net.Socket, to: net.Socket) => {
      from.on('data', (chunk) => {
        if (this.mode === 'blackhole' || this.mode === 'drop') return;
        if (this.mode === 'slow') setTimeout(() => to.writable && to.write(chunk), this.delayMs);
        else if (this.mode === 'narrow') {
          if (to.writable) to.write(chunk);
          from.pause();
          setTimeout(() => from.resume(), (chunk.length / this.bytesPerSecond) * 1000);
        } else if (to.writable) to.write(chunk);
      });
      from.on('end', () => to.end());
      from.on('close', () => to.destroy());
    };
    forward(client, upstream);
    forward(upstream, client);
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}
