import CNIfTI
import Foundation

/// The header fields Lumen checks before handing a file to libnifti.
///
/// libnifti prints to stderr and returns NULL on bad input, and silently reads a
/// file with a broken magic as ANALYZE 7.5. Reading the raw 348 bytes first lets
/// Lumen refuse bad uploads with a precise, typed error before allocating anything.
struct NIfTIHeaderProbe {
    var datatype: NIfTIDatatype
    var dims: [Int]
    var voxelOffset: Int
    var headerPath: String
    var imagePath: String
    var compressed: Bool

    var voxelCount: Int { dims.reduce(1, *) }
    var dataBytes: Int { voxelCount * datatype.bytesPerVoxel }

    static func probe(path: String, maxVoxels: Int) throws -> NIfTIHeaderProbe {
        let name = (path as NSString).lastPathComponent
        let (headerPath, imagePath, isPair) = try paths(for: path, name: name)
        guard FileManager.default.fileExists(atPath: headerPath) else { throw NIfTIError.notFound(file: name) }
        if isPair, !FileManager.default.fileExists(atPath: imagePath) {
            throw NIfTIError.notFound(file: (imagePath as NSString).lastPathComponent)
        }
        let compressed = headerPath.hasSuffix(".gz")
        let raw = try readHeaderBytes(headerPath, name: name, compressed: compressed)

        var swapped = false
        var sizeofHdr = raw.int32(at: 0, swapped: false)
        if sizeofHdr != 348 {
            let s = raw.int32(at: 0, swapped: true)
            if s == 348 { swapped = true; sizeofHdr = s }
            else if sizeofHdr == 540 || s == 540 { throw NIfTIError.nifti2NotSupported(file: name) }
            else { throw NIfTIError.wrongHeaderSize(file: name, size: sizeofHdr) }
        }
        let magic = raw[344..<347]
        let magicText = String(decoding: raw[344..<348].map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
            .trimmingCharacters(in: .whitespaces)
        let expected: [UInt8] = isPair ? Array("ni1".utf8) : Array("n+1".utf8)
        guard Array(magic) == expected, raw[347] == 0 else {
            throw NIfTIError.wrongMagic(file: name, magic: magicText)
        }

        let ndim = Int(raw.int16(at: 40, swapped: swapped))
        var dims = (1...7).map { Int(raw.int16(at: 40 + 2 * $0, swapped: swapped)) }
        guard (1...7).contains(ndim) else { throw NIfTIError.badDimensions(file: name, dims: [ndim] + dims) }
        dims = Array(dims.prefix(ndim))
        guard dims.allSatisfy({ $0 >= 1 }) else { throw NIfTIError.badDimensions(file: name, dims: dims) }

        let code = raw.int16(at: 70, swapped: swapped)
        guard let datatype = NIfTIDatatype(rawValue: Int32(code)) else {
            throw NIfTIError.unknownDatatype(file: name, code: Int32(code))
        }
        guard datatype.isScalar else {
            throw NIfTIError.nonScalarDatatype(file: name, code: Int32(code), name: datatype.name)
        }

        var voxels = 1
        for d in dims {
            let (product, overflow) = voxels.multipliedReportingOverflow(by: d)
            guard !overflow else { throw NIfTIError.tooManyVoxels(file: name, dims: dims, limit: maxVoxels) }
            voxels = product
        }
        guard voxels <= maxVoxels else { throw NIfTIError.tooManyVoxels(file: name, dims: dims, limit: maxVoxels) }

        let fields = NIfTIHeaderFields(raw: raw, swapped: swapped, file: name)
        try fields.checkBitpix(datatype)
        try fields.checkSpatialFields(ndim: ndim)
        let offset = try fields.voxelOffset(isPair: isPair, fileSize: compressed ? nil : Self.fileSize(imagePath))
        let probe = NIfTIHeaderProbe(datatype: datatype, dims: dims, voxelOffset: offset,
                                     headerPath: headerPath, imagePath: imagePath, compressed: compressed)
        try probe.checkPlainSize(name: name)
        return probe
    }

    /// For uncompressed data the file size tells whether the data is all there,
    /// which is cheaper and clearer than waiting for libnifti's short read.
    private func checkPlainSize(name: String) throws {
        guard !imagePath.hasSuffix(".gz") else { return }
        let size = Self.fileSize(imagePath)
        let available = max(size - voxelOffset, 0)
        if available < dataBytes {
            throw NIfTIError.truncatedData(file: (imagePath as NSString).lastPathComponent,
                                           expected: dataBytes, available: available)
        }
    }

    static func fileSize(_ path: String) -> Int {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return (attributes?[.size] as? NSNumber)?.intValue ?? 0
    }

    private static func paths(for path: String, name: String) throws -> (String, String, Bool) {
        let lower = path.lowercased()
        if lower.hasSuffix(".nii") || lower.hasSuffix(".nii.gz") { return (path, path, false) }
        for (h, i) in [(".hdr", ".img"), (".hdr.gz", ".img.gz")] {
            if lower.hasSuffix(h) { return (path, String(path.dropLast(h.count)) + i, true) }
            if lower.hasSuffix(i) { return (String(path.dropLast(i.count)) + h, path, true) }
        }
        throw NIfTIError.unsupportedExtension(file: name)
    }

    private static func readHeaderBytes(_ path: String, name: String, compressed: Bool) throws -> [UInt8] {
        guard let file = znzopen(path, "rb", compressed ? 1 : 0) else { throw NIfTIError.readFailed(file: name) }
        var handle: znzFile? = file
        defer { Xznzclose(&handle) }
        var bytes = [UInt8](repeating: 0, count: 348)
        let got = bytes.withUnsafeMutableBytes { znzread($0.baseAddress, 1, 348, file) }
        if got < 348 {
            if compressed && got > 0 { throw NIfTIError.gzipEndsEarly(file: name) }
            throw NIfTIError.truncatedHeader(file: name, bytes: got)
        }
        return bytes
    }
}

extension Array where Element == UInt8 {
    func int16(at o: Int, swapped: Bool) -> Int16 {
        let v = UInt16(self[o]) | UInt16(self[o + 1]) << 8
        return Int16(bitPattern: swapped ? v.byteSwapped : v)
    }
    func int32(at o: Int, swapped: Bool) -> Int32 {
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(self[o + k]) << (8 * UInt32(k)) }
        return Int32(bitPattern: swapped ? v.byteSwapped : v)
    }
    func float32(at o: Int, swapped: Bool) -> Float {
        Float(bitPattern: UInt32(bitPattern: int32(at: o, swapped: swapped)))
    }
}
