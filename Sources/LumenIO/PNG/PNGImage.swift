import Foundation

public enum PNGError: Error, CustomStringConvertible, Equatable {
    case notPNG
    case truncated
    case absurdSize(width: Int, height: Int, limit: Int)

    public var description: String {
        switch self {
        case .notPNG: "not a PNG file (the 8-byte PNG signature is missing)"
        case .truncated: "the PNG ends before its IHDR header is complete"
        case .absurdSize(let w, let h, let limit): "the PNG claims \(w)×\(h) pixels; a slice may have at most \(limit) pixels and 32768 per side"
        }
    }
}

/// The little of PNG that MITK's fixpolygon needs: the slice's size from its
/// header, and a grey-scale mask written back. Masks are written with stored
/// (uncompressed) deflate blocks: they are small, and it keeps zlib out of the
/// serving path's dependencies.
public enum PNGImage {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Width and height from the IHDR chunk, which the format requires first.
    /// The most pixels a slice may claim: 8192², well above any CT slice, and
    /// what bounds the mask a fixpolygon request makes the server draw.
    public static let maxPixels = 1 << 26

    public static func size(of data: [UInt8], maxPixels: Int = maxPixels) throws -> (width: Int, height: Int) {
        guard data.count >= 8, Array(data[0..<8]) == signature else { throw PNGError.notPNG }
        guard data.count >= 24 else { throw PNGError.truncated }
        guard Array(data[12..<16]) == Array("IHDR".utf8) else { throw PNGError.notPNG }
        func be32(_ o: Int) -> Int { data[o..<(o + 4)].reduce(0) { $0 << 8 | Int($1) } }
        let (w, h) = (be32(16), be32(20))
        guard w > 0, h > 0, w <= 1 << 15, h <= 1 << 15, w * h <= maxPixels else {
            throw PNGError.absurdSize(width: w, height: h, limit: maxPixels)
        }
        return (w, h)
    }

    /// An 8-bit grey-scale PNG; `pixels` is row-major (`y * width + x`).
    public static func grey(width: Int, height: Int, pixels: [UInt8]) -> [UInt8] {
        precondition(pixels.count == width * height)
        let raw = scanlines(pixels, rowBytes: width, height: height)
        var header = [UInt8]()
        for v in [UInt32(width), UInt32(height)] { header += bigEndian(v) }
        header += [8, 0, 0, 0, 0]   // depth 8, grey, deflate, adaptive filtering, no interlace
        return signature + chunk("IHDR", header) + chunk("IDAT", storedZlib(raw)) + chunk("IEND", [])
    }

    /// An 8-bit RGB PNG, deflated (previews are kept in the repository and sent over tunnels);
    /// `pixels` is row-major RGB.
    public static func rgb(width: Int, height: Int, pixels: [UInt8]) -> [UInt8] {
        precondition(pixels.count == width * height * 3)
        let raw = scanlines(pixels, rowBytes: width * 3, height: height)
        var header = [UInt8]()
        for v in [UInt32(width), UInt32(height)] { header += bigEndian(v) }
        header += [8, 2, 0, 0, 0]   // depth 8, truecolour, deflate, adaptive filtering, no interlace
        let idat = (try? raw.withUnsafeBytes { try Zlib.deflate($0, level: 9) }) ?? storedZlib(raw)
        return signature + chunk("IHDR", header) + chunk("IDAT", idat) + chunk("IEND", [])
    }

    /// Each row behind its filter byte (0: None), as IDAT wants them.
    static func scanlines(_ pixels: [UInt8], rowBytes: Int, height: Int) -> [UInt8] {
        var raw = [UInt8]()
        raw.reserveCapacity((rowBytes + 1) * height)
        for y in 0..<height {
            raw.append(0)
            raw += pixels[(y * rowBytes)..<((y + 1) * rowBytes)]
        }
        return raw
    }

    static func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + body
        return bigEndian(UInt32(body.count)) + typed + bigEndian(crc32(typed))
    }

    static func storedZlib(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let n = min(65_535, data.count - offset)
            let last: UInt8 = offset + n == data.count ? 1 : 0
            out += [last, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[offset..<(offset + n)]
            offset += n
        } while offset < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data { a = (a + UInt32(byte)) % 65_521; b = (b + a) % 65_521 }
        return out + bigEndian(b << 16 | a)
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in bytes { c = crcTable[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
