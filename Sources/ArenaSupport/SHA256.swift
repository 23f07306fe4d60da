import COpenSSL

/// SHA-256 (FIPS 180-4) through Debian's OpenSSL libcrypto (the EVP digest API), which runs the
/// compression on the CPU's SHA instructions where they exist and on its tuned SIMD rounds
/// elsewhere. Used to checksum checkpoints, episode files and weights. Streaming: feed bytes with
/// `update` in any pieces, then `finalize()`; hashing a multi-gigabyte replay memory this way
/// never holds it in memory.
///
///     var hasher = SHA256()
///     hasher.update(bytes)
///     let hex = hasher.finalize().hexString
///
/// A value type like any other: a copy made halfway continues on its own (the libcrypto context
/// is copied on the first write after a copy).
public struct SHA256: Sendable {
    /// The 32-byte digest.
    public struct Digest: Equatable, Hashable, Sendable, CustomStringConvertible {
        public let bytes: [UInt8]
        /// Lower-case hex, 64 characters.
        public var hexString: String { hexEncode(bytes) }
        public var description: String { hexString }
    }

    private var context: Context

    public init() { context = Context() }

    /// One-shot digest of `bytes`.
    public static func hash(_ bytes: some Collection<UInt8>) -> Digest {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    public mutating func update(_ bytes: some Collection<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if done == nil { Array(bytes).withUnsafeBytes { update($0) } }
    }

    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        if !isKnownUniquelyReferenced(&context) { context = context.copy() }
        // safe because: libcrypto reads exactly buffer.count bytes from base during the call.
        Context.check(EVP_DigestUpdate(context.pointer, base, buffer.count), "EVP_DigestUpdate")
    }

    /// Pads, processes the last block and returns the digest of everything fed since `init` (or
    /// since the previous `finalize`); the hasher then starts over, as if new.
    public mutating func finalize() -> Digest {
        if !isKnownUniquelyReferenced(&context) { context = context.copy() }
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        out.withUnsafeMutableBufferPointer { digest in
            // safe because: EVP_sha256 writes EVP_MAX_MD_SIZE at most and exactly 32 bytes here.
            Context.check(EVP_DigestFinal_ex(context.pointer, digest.baseAddress, &length), "EVP_DigestFinal_ex")
        }
        precondition(length == 32, "SHA256: libcrypto returned a \(length)-byte digest, expected 32")
        context.start()
        return Digest(bytes: out)
    }

    /// Owns one libcrypto digest context (EVP_MD_CTX); freed with the last reference.
    private final class Context: @unchecked Sendable {
        // @unchecked because: the context is only written through a uniquely referenced box
        // (SHA256 copies it first otherwise), and reading it to copy does not change it.
        let pointer: OpaquePointer

        init() {
            guard let pointer = EVP_MD_CTX_new() else {
                preconditionFailure("SHA256: libcrypto could not allocate a digest context (out of memory)")
            }
            self.pointer = pointer
            start()
        }

        private init(copying other: Context) {
            guard let pointer = EVP_MD_CTX_new() else {
                preconditionFailure("SHA256: libcrypto could not allocate a digest context (out of memory)")
            }
            self.pointer = pointer
            Context.check(EVP_MD_CTX_copy_ex(pointer, other.pointer), "EVP_MD_CTX_copy_ex")
        }

        deinit { EVP_MD_CTX_free(pointer) }

        func copy() -> Context { Context(copying: self) }

        /// (Re)initializes the context for a new SHA-256 message.
        func start() { Context.check(EVP_DigestInit_ex(pointer, EVP_sha256(), nil), "EVP_DigestInit_ex(EVP_sha256())") }

        /// libcrypto's EVP calls return 1 on success. They fail only when libcrypto itself is
        /// broken or out of memory, which no caller can recover from.
        static func check(_ status: Int32, _ call: String) {
            guard status != 1 else { return }
            let code = ERR_get_error()
            var text = [CChar](repeating: 0, count: 256)
            text.withUnsafeMutableBufferPointer { ERR_error_string_n(code, $0.baseAddress, $0.count) }
            let reason = code == 0 ? "no reason given" : String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            preconditionFailure("SHA256: libcrypto's \(call) failed (\(reason)); check the libssl3 installation")
        }
    }
}

/// Lower-case hex of `bytes`.
public func hexEncode(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for byte in bytes { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)]) }
    return String(decoding: out, as: UTF8.self)
}
