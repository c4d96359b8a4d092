/**
 * GENEVE (RFC 8926) codec for AWS Gateway Load Balancer traffic.
 *
 * Decoding never throws: every field and every option is bounds-checked and a malformed datagram
 * yields `{ ok: false, error: <reason> }`. No I/O here.
 *
 * Wire format (RFC 8926 section 3.4):
 *
 * ```
 *  0                   1                   2                   3
 * |Ver|  Opt Len  |O|C|    Rsvd.  |          Protocol Type        |
 * |        Virtual Network Identifier (VNI)       |    Reserved   |
 * |                    Variable-Length Options                    |
 * ```
 *
 * Each option (section 3.5): `Option Class (16) | C + Type (8) | R (3) + Length (5) | data`,
 * Length in 4-byte words, excluding the 4-byte option header. The high bit of Type marks a
 * critical option.
 *
 * GWLB always sends three options of class 0x0108: type 1 endpoint id (8 bytes), type 2
 * attachment id (8 bytes), type 3 flow cookie (4 bytes). Anything else that is not critical is
 * carried in {@link GeneveHeader.options} untouched, so the return path echoes it verbatim.
 */

/** Fixed part of the GENEVE header. */
export const GENEVE_BASE_LENGTH = 8;
/** Largest header: 8 fixed bytes + 63 words of options. */
export const GENEVE_MAX_HEADER_LENGTH = 8 + 63 * 4;
/** AWS GWLB option class. */
export const AWS_OPTION_CLASS = 0x0108;
export const AWS_OPTION_ENDPOINT_ID = 1;
export const AWS_OPTION_ATTACHMENT_ID = 2;
export const AWS_OPTION_FLOW_COOKIE = 3;
/** Header length of what GWLB sends: 8 + (4 + 8) + (4 + 8) + (4 + 4). */
export const GWLB_HEADER_LENGTH = 40;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;

/**
 * Every reason a datagram is dropped by the decoder, as a const array so metrics can pre-register
 * one label per reason.
 */
export const GENEVE_DROP_REASONS = [
  /** Shorter than the 8-byte fixed header. */
  "TOO_SHORT",
  /** Version field is not 0. */
  "BAD_VERSION",
  /** Opt Len points past the end of the datagram. */
  "BAD_OPTLEN",
  /** An option header or its data overruns the options area, or an AWS option has a wrong length. */
  "BAD_OPTION",
  /** An option with the critical bit set that this decoder does not understand. */
  "UNKNOWN_CRITICAL_OPTION",
  /** Protocol type other than IPv4 (0x0800) or IPv6 (0x86DD). */
  "UNSUPPORTED_PROTOCOL",
  /** O bit set: a control message, never forwarded to an inner interface. */
  "OAM",
  /** One of the three AWS options (endpoint id, attachment id, flow cookie) is absent. */
  "MISSING_AWS_OPTION",
  /** An AWS option appears more than once. */
  "DUPLICATE_AWS_OPTION",
  /** Nothing after the header. */
  "EMPTY_PAYLOAD",
  /** The inner packet's IP version nibble does not match the protocol type. */
  "INNER_VERSION_MISMATCH",
] as const;

export type GeneveDropReason = (typeof GENEVE_DROP_REASONS)[number];

/** A decoded GENEVE header. Buffers are views into the decoded datagram (no copy). */
export interface GeneveHeader {
  /** 0x0800 (inner IPv4) or 0x86DD (inner IPv6). */
  readonly protocolType: number;
  /** 24-bit virtual network identifier (GWLB sends 0). */
  readonly vni: number;
  /** O bit. Always false in a successfully decoded header (OAM packets are dropped). */
  readonly oam: boolean;
  /** C bit: critical options present. */
  readonly critical: boolean;
  /** GWLB endpoint id (class 0x0108 type 1), unsigned 64-bit. */
  readonly endpointId: bigint;
  /** Attachment id (class 0x0108 type 2), unsigned 64-bit. */
  readonly attachmentId: bigint;
  /** Flow cookie (class 0x0108 type 3), unsigned 32-bit. */
  readonly flowCookie: number;
  /**
   * All option bytes exactly as received (AWS options and any unknown non-critical options), a
   * view into the decoded buffer. Copy it (or the whole header with {@link copyGeneveHeader})
   * before the receive buffer is reused.
   */
  readonly options: Buffer;
}

export type GeneveDecodeResult =
  | {
      readonly ok: true;
      readonly header: GeneveHeader;
      /** Bytes of GENEVE header, options included (8 + Opt Len * 4). */
      readonly headerLength: number;
      /** Absolute offset of the inner packet in the decoded buffer. */
      readonly innerOffset: number;
      readonly innerLength: number;
    }
  | { readonly ok: false; readonly error: GeneveDropReason };

/**
 * Reusable, allocation-free decode target for the hot path ({@link decodeGeneveInto}). Ids are
 * split into two unsigned 32-bit halves so no bigint is created per packet.
 */
export interface GeneveScratch {
  protocolType: number;
  vni: number;
  oam: boolean;
  critical: boolean;
  headerLength: number;
  innerOffset: number;
  innerLength: number;
  endpointIdHi: number;
  endpointIdLo: number;
  attachmentIdHi: number;
  attachmentIdLo: number;
  flowCookie: number;
  /** Absolute offset of the first option byte (header offset + 8). */
  optionsOffset: number;
  /** Number of option bytes (Opt Len * 4). */
  optionsLength: number;
}

export function createGeneveScratch(): GeneveScratch {
  return {
    protocolType: 0,
    vni: 0,
    oam: false,
    critical: false,
    headerLength: 0,
    innerOffset: 0,
    innerLength: 0,
    endpointIdHi: 0,
    endpointIdLo: 0,
    attachmentIdHi: 0,
    attachmentIdLo: 0,
    flowCookie: 0,
    optionsOffset: 0,
    optionsLength: 0,
  };
}

function u32(buf: Uint8Array, p: number): number {
  // Callers guarantee p + 4 <= buf.length.
  return ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
}

const SEEN_ENDPOINT = 1;
const SEEN_ATTACHMENT = 2;
const SEEN_COOKIE = 4;
const SEEN_ALL = 7;

/**
 * Decodes a GENEVE header into `out` without allocating. Returns `undefined` on success, the drop
 * reason otherwise (then `out` is partially written and must not be used).
 *
 * `offset`/`length` select the UDP payload inside `buf`; out-of-range values are clamped, never
 * read past the buffer.
 */
export function decodeGeneveInto(
  buf: Uint8Array,
  offset: number,
  length: number,
  out: GeneveScratch,
): GeneveDropReason | undefined {
  // Clamp the window to the buffer: a bad caller cannot make us read out of bounds.
  if (!(offset >= 0)) offset = 0;
  if (!(length >= 0)) length = 0;
  if (offset > buf.length) offset = buf.length;
  if (length > buf.length - offset) length = buf.length - offset;
  offset = offset | 0;
  length = length | 0;

  if (length < GENEVE_BASE_LENGTH) return "TOO_SHORT";
  const b0 = buf[offset]!;
  if (b0 >> 6 !== 0) return "BAD_VERSION";
  const optLen = (b0 & 0x3f) << 2;
  const headerLength = GENEVE_BASE_LENGTH + optLen;
  if (headerLength > length) return "BAD_OPTLEN";
  const b1 = buf[offset + 1]!;
  const oam = (b1 & 0x80) !== 0;
  const critical = (b1 & 0x40) !== 0;
  if (oam) return "OAM";
  const protocolType = (buf[offset + 2]! << 8) | buf[offset + 3]!;
  if (protocolType !== ETHERTYPE_IPV4 && protocolType !== ETHERTYPE_IPV6) {
    return "UNSUPPORTED_PROTOCOL";
  }

  let seen = 0;
  let p = offset + GENEVE_BASE_LENGTH;
  const end = offset + headerLength;
  while (p < end) {
    if (p + 4 > end) return "BAD_OPTION";
    const optClass = (buf[p]! << 8) | buf[p + 1]!;
    const typeByte = buf[p + 2]!;
    const dataLen = (buf[p + 3]! & 0x1f) << 2;
    const data = p + 4;
    if (data + dataLen > end) return "BAD_OPTION";
    if (optClass === AWS_OPTION_CLASS && typeByte <= AWS_OPTION_FLOW_COOKIE && typeByte >= 1) {
      if (typeByte === AWS_OPTION_ENDPOINT_ID) {
        if (dataLen !== 8) return "BAD_OPTION";
        if (seen & SEEN_ENDPOINT) return "DUPLICATE_AWS_OPTION";
        seen |= SEEN_ENDPOINT;
        out.endpointIdHi = u32(buf, data);
        out.endpointIdLo = u32(buf, data + 4);
      } else if (typeByte === AWS_OPTION_ATTACHMENT_ID) {
        if (dataLen !== 8) return "BAD_OPTION";
        if (seen & SEEN_ATTACHMENT) return "DUPLICATE_AWS_OPTION";
        seen |= SEEN_ATTACHMENT;
        out.attachmentIdHi = u32(buf, data);
        out.attachmentIdLo = u32(buf, data + 4);
      } else {
        if (dataLen !== 4) return "BAD_OPTION";
        if (seen & SEEN_COOKIE) return "DUPLICATE_AWS_OPTION";
        seen |= SEEN_COOKIE;
        out.flowCookie = u32(buf, data);
      }
    } else if (typeByte & 0x80) {
      // RFC 8926 3.5: an unknown critical option means the packet must be dropped.
      return "UNKNOWN_CRITICAL_OPTION";
    }
    p = data + dataLen;
  }
  if (seen !== SEEN_ALL) return "MISSING_AWS_OPTION";

  const innerLength = length - headerLength;
  if (innerLength === 0) return "EMPTY_PAYLOAD";
  const innerVersion = buf[end]! >> 4;
  if (innerVersion !== (protocolType === ETHERTYPE_IPV4 ? 4 : 6)) return "INNER_VERSION_MISMATCH";

  out.protocolType = protocolType;
  out.vni = (buf[offset + 4]! << 16) | (buf[offset + 5]! << 8) | buf[offset + 6]!;
  out.oam = oam;
  out.critical = critical;
  out.headerLength = headerLength;
  out.innerOffset = end;
  out.innerLength = innerLength;
  out.optionsOffset = offset + GENEVE_BASE_LENGTH;
  out.optionsLength = optLen;
  return undefined;
}

/** Joins two unsigned 32-bit halves into an unsigned 64-bit bigint. */
export function joinU64(hi: number, lo: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

const scratch = createGeneveScratch();

/**
 * Decodes the GENEVE header of a UDP payload. Never throws. The returned header's `options` is a
 * view into `buf`.
 */
export function decodeGeneve(
  buf: Buffer,
  offset = 0,
  length: number = buf.length - offset,
): GeneveDecodeResult {
  const error = decodeGeneveInto(buf, offset, length, scratch);
  if (error !== undefined) return { ok: false, error };
  const s = scratch;
  return {
    ok: true,
    header: {
      protocolType: s.protocolType,
      vni: s.vni,
      oam: s.oam,
      critical: s.critical,
      endpointId: joinU64(s.endpointIdHi, s.endpointIdLo),
      attachmentId: joinU64(s.attachmentIdHi, s.attachmentIdLo),
      flowCookie: s.flowCookie,
      options: buf.subarray(s.optionsOffset, s.optionsOffset + s.optionsLength),
    },
    headerLength: s.headerLength,
    innerOffset: s.innerOffset,
    innerLength: s.innerLength,
  };
}

/** One option as found in the options area. */
export interface GeneveOption {
  readonly optClass: number;
  /** Type without the critical bit (0..127). */
  readonly type: number;
  readonly critical: boolean;
  /** Option data (a multiple of 4 bytes, at most 124). */
  readonly data: Buffer;
}

/**
 * Splits an options area into options. Returns undefined when it is malformed (an option overruns
 * the area). Never throws.
 */
export function listGeneveOptions(options: Buffer): GeneveOption[] | undefined {
  const list: GeneveOption[] = [];
  let p = 0;
  while (p < options.length) {
    if (p + 4 > options.length) return undefined;
    const len = (options[p + 3]! & 0x1f) << 2;
    if (p + 4 + len > options.length) return undefined;
    list.push({
      optClass: options.readUInt16BE(p),
      type: options[p + 2]! & 0x7f,
      critical: (options[p + 2]! & 0x80) !== 0,
      data: options.subarray(p + 4, p + 4 + len),
    });
    p += 4 + len;
  }
  return list;
}

/** What {@link encodeGeneve} needs. */
export interface GeneveEncodeInput {
  /** Defaults to 0x0800 (IPv4), or to the inner packet's IP version when `inner` is given. */
  readonly protocolType?: number;
  /** Defaults to 0. */
  readonly vni?: number;
  /** Defaults to false. */
  readonly oam?: boolean;
  /** Defaults to true when a critical option is present, else false. */
  readonly critical?: boolean;
  readonly endpointId: bigint;
  readonly attachmentId: bigint;
  readonly flowCookie: number;
  /**
   * Raw options area to send verbatim (length a multiple of 4, at most 252). When given, the ids
   * above are ignored: this is how a decoded header is re-encoded byte for byte.
   */
  readonly options?: Buffer;
  /** Extra options appended after the three AWS options (ignored when `options` is given). */
  readonly extraOptions?: readonly GeneveOption[];
}

function writeOption(out: Buffer, p: number, o: GeneveOption): number {
  if (o.data.length % 4 !== 0 || o.data.length > 124) {
    throw new RangeError(
      `GENEVE option data length ${o.data.length} is not a multiple of 4 <= 124`,
    );
  }
  out.writeUInt16BE(o.optClass & 0xffff, p);
  out[p + 2] = (o.type & 0x7f) | (o.critical ? 0x80 : 0);
  out[p + 3] = o.data.length >> 2;
  o.data.copy(out, p + 4);
  return p + 4 + o.data.length;
}

/** Builds the options area GWLB sends: endpoint id, attachment id, flow cookie, then extras. */
export function encodeAwsOptions(
  endpointId: bigint,
  attachmentId: bigint,
  flowCookie: number,
  extra: readonly GeneveOption[] = [],
): Buffer {
  const extraLen = extra.reduce((n, o) => n + 4 + o.data.length, 0);
  const out = Buffer.alloc(32 + extraLen);
  out.writeUInt16BE(AWS_OPTION_CLASS, 0);
  out[2] = AWS_OPTION_ENDPOINT_ID;
  out[3] = 2;
  out.writeBigUInt64BE(BigInt.asUintN(64, endpointId), 4);
  out.writeUInt16BE(AWS_OPTION_CLASS, 12);
  out[14] = AWS_OPTION_ATTACHMENT_ID;
  out[15] = 2;
  out.writeBigUInt64BE(BigInt.asUintN(64, attachmentId), 16);
  out.writeUInt16BE(AWS_OPTION_CLASS, 24);
  out[26] = AWS_OPTION_FLOW_COOKIE;
  out[27] = 1;
  out.writeUInt32BE(flowCookie >>> 0, 28);
  let p = 32;
  for (const o of extra) p = writeOption(out, p, o);
  return out;
}

/**
 * Encodes a GENEVE header (and the inner packet after it, when given). Throws RangeError only on
 * impossible input (options area longer than 252 bytes or not a multiple of 4): this is a builder
 * for tests, the emulator and the lab, not a parser.
 */
export function encodeGeneve(header: GeneveEncodeInput, inner?: Uint8Array): Buffer {
  const options =
    header.options ??
    encodeAwsOptions(
      header.endpointId,
      header.attachmentId,
      header.flowCookie,
      header.extraOptions,
    );
  if (options.length % 4 !== 0 || options.length > 252) {
    throw new RangeError(`GENEVE options length ${options.length} is not a multiple of 4 <= 252`);
  }
  const headerLength = GENEVE_BASE_LENGTH + options.length;
  const out = Buffer.alloc(headerLength + (inner?.length ?? 0));
  let protocolType = header.protocolType;
  if (protocolType === undefined) {
    protocolType =
      inner && inner.length > 0 && inner[0]! >> 4 === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
  }
  const critical =
    header.critical ??
    (header.options === undefined && (header.extraOptions ?? []).some((o) => o.critical));
  out[0] = options.length >> 2;
  out[1] = (header.oam ? 0x80 : 0) | (critical ? 0x40 : 0);
  out.writeUInt16BE(protocolType & 0xffff, 2);
  const vni = (header.vni ?? 0) & 0xffffff;
  out[4] = vni >> 16;
  out[5] = (vni >> 8) & 0xff;
  out[6] = vni & 0xff;
  out[7] = 0;
  options.copy(out, GENEVE_BASE_LENGTH);
  if (inner) out.set(inner, headerLength);
  return out;
}

/**
 * Copies the GENEVE header bytes (fixed part and options) out of a receive buffer, so the return
 * path can send them back verbatim after the buffer is reused. Store the result per flow.
 */
export function copyGeneveHeader(buf: Uint8Array, offset: number, headerLength: number): Buffer {
  const out = Buffer.allocUnsafe(headerLength);
  out.set(buf.subarray(offset, offset + headerLength));
  return out;
}

/**
 * True when `stored` equals the header at `buf[offset..]` byte for byte, so the forward path can
 * skip the copy when a flow's header did not change (the common case).
 */
export function geneveHeaderEquals(stored: Uint8Array, buf: Uint8Array, offset: number): boolean {
  const n = stored.length;
  if (offset < 0 || offset + n > buf.length) return false;
  for (let i = 0; i < n; i++) if (stored[i] !== buf[offset + i]) return false;
  return true;
}
