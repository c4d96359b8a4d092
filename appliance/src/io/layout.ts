/**
 * The typed arrays the data path shares with its port (the tollgate_native addon, or the
 * in-memory port in tests): which index holds which field. This module is the one TypeScript
 * definition; tollgate_native.c mirrors it in its enums (PORT_RESULT, RX_META, TX_META) and
 * exports them as `layout`, which tests/appliance/io/layout.test.ts compares with this.
 */

/**
 * The result block: an Int32Array of `Result.FIELDS` entries, bound once with the data path's
 * buffers. Every port call writes its outcome here instead of returning it.
 */
export const Result = {
  /** Datagrams the last receive put into rxBuf/rxMeta (0 when none was queued or it failed). */
  RECEIVED: 0,
  /** errno of the last receive, 0 when it succeeded (nothing queued is not an error). */
  RECV_ERRNO: 1,
  /** Tun writes of the last write that succeeded (each failed one has its errno in wErrs). */
  WRITTEN: 2,
  /** Packets the last read put into txBuf/txLens. */
  READ: 3,
  /** errno of the last read when it read nothing and failed (EAGAIN is not a failure), else 0. */
  READ_ERRNO: 4,
  /** Datagrams the last send handed to the kernel. */
  SENT: 5,
  /** Length of the block. */
  FIELDS: 6,
} as const;

/** Received datagram k is described by rxMeta[RxMeta.WORDS * k + field]. */
export const RxMeta = {
  /** Length in bytes; RX_TRUNCATED is set when the datagram was longer than its slot. */
  LENGTH: 0,
  /** Sender's IPv4 address (host order: 10.0.0.1 is 0x0a000001). */
  SOURCE: 1,
  /** Sender's UDP port. */
  SOURCE_PORT: 2,
  /** The local address the datagram was sent to (IP_PKTINFO). */
  LOCAL: 3,
  WORDS: 4,
} as const;

/** Bit of RxMeta.LENGTH set when the datagram did not fit its slot. */
export const RX_TRUNCATED = 0x80000000;

/**
 * Reply k to send is described by txMeta[TxMeta.WORDS * k + field]; the port writes the IPv4 and
 * UDP headers (UDP checksum included) into the RAW_HEADER_ROOM bytes before OFFSET.
 */
export const TxMeta = {
  /** Where the payload (GENEVE header + inner packet) starts in txBuf. */
  OFFSET: 0,
  /** Payload length in bytes. */
  LENGTH: 1,
  /** IPv4 source address (host order); 0 lets the kernel choose. */
  SOURCE: 2,
  DESTINATION: 3,
  SOURCE_PORT: 4,
  DESTINATION_PORT: 5,
  WORDS: 6,
} as const;

/** Bytes the port writes in front of each reply's payload (IPv4 20 + UDP 8). */
export const RAW_HEADER_ROOM = 28;

/**
 * The buffers a data path binds to its port once (DatapathPort.bind, NativeAddon.dpBind); every
 * later call reads and writes these only. The batch size is `wFds.length`.
 */
export interface DatapathBuffers {
  /** Receive slots, `slot` bytes each, one datagram per slot. */
  readonly rxBuf: Buffer;
  readonly slot: number;
  /** RxMeta.WORDS per received datagram. */
  readonly rxMeta: Uint32Array;
  /** Tun writes: descriptor, offset in rxBuf, length, and the errno (or 0) of each write. */
  readonly wFds: Int32Array;
  readonly wOffs: Uint32Array;
  readonly wLens: Uint32Array;
  readonly wErrs: Int32Array;
  /** Tun reads: packet k at txBase + k * txStride, at most txCap bytes, its length in txLens[k]. */
  readonly txBuf: Buffer;
  readonly txBase: number;
  readonly txStride: number;
  readonly txCap: number;
  readonly txLens: Uint32Array;
  /** TxMeta.WORDS per reply to send (its payload in txBuf). */
  readonly txMeta: Uint32Array;
  /** Result.FIELDS entries: the outcome of the last call of each kind. */
  readonly result: Int32Array;
}

/** The layout as the addon reports it (`NativeAddon.layout`). */
export interface PortLayout {
  readonly result: Readonly<Record<keyof typeof Result, number>>;
  readonly rxMeta: Readonly<Record<keyof typeof RxMeta, number>>;
  readonly txMeta: Readonly<Record<keyof typeof TxMeta, number>>;
  readonly rxTruncated: number;
  readonly rawHeaderRoom: number;
}

/** This module's layout, in the shape of NativeAddon.layout. */
export const PORT_LAYOUT: PortLayout = {
  result: Result,
  rxMeta: RxMeta,
  txMeta: TxMeta,
  rxTruncated: RX_TRUNCATED,
  rawHeaderRoom: RAW_HEADER_ROOM,
};
