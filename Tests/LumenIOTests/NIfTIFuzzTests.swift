import CNIfTI
import Foundation
import Testing
@testable import LumenIO
import LumenPhantom
import LumenTensor

/// Thousands of mutated NIfTI headers through `Volume.read`: each one either
/// loads with a finite, invertible geometry or is refused with a `NIfTIError`.
/// Before the header was validated as a whole, NaN, Inf and huge values in
/// vox_offset, pixdim and the sform trapped the process.
@Suite("NIfTI header fuzzing")
struct NIfTIFuzzTests {
    /// Float fields that decide geometry and layout, and values that have broken readers.
    static let floatFields = [76, 80, 84, 88, 92, 108, 112, 116, 256, 260, 264, 268, 272, 276] + (0..<12).map { 280 + 4 * $0 }
    static let shortFields = [40, 42, 44, 46, 48, 70, 72, 252, 254]
    static let floats: [Float] = [.nan, .infinity, -.infinity, 0, -0.0, -1, 1e-30, 1e-5, 1e3, 1e4, 1e5, 1e30, 3e38,
                                  .greatestFiniteMagnitude, .leastNonzeroMagnitude, 351, 352, 353, 1e9, -1e9, 0.5]
    static let shorts: [Int16] = [0, -1, 1, 2, 3, 4, 7, 8, 16, 64, 255, 1024, 32767, -32768, 512, 768]

    static func mutate(_ base: [UInt8], _ random: inout PhantomRandom) -> [UInt8] {
        var bytes = base
        for _ in 0...random.below(3) {
            switch random.below(4) {
            case 0:
                let o = random.pick(floatFields)
                let v = random.pick(floats).bitPattern.littleEndian
                withUnsafeBytes(of: v) { for k in 0..<4 { bytes[o + k] = $0[k] } }
            case 1:
                let o = random.pick(shortFields)
                let v = random.pick(shorts).littleEndian
                withUnsafeBytes(of: v) { for k in 0..<2 { bytes[o + k] = $0[k] } }
            case 2:
                bytes[random.below(348)] = UInt8(truncatingIfNeeded: random.next())
            default:
                let o = random.pick(floatFields)
                let v = UInt32(truncatingIfNeeded: random.next())
                withUnsafeBytes(of: v) { for k in 0..<4 { bytes[o + k] = $0[k] } }
            }
        }
        return bytes
    }

    @Test("mutated headers load sanely or are refused", arguments: [(false, UInt64(1)), (true, UInt64(2))])
    func mutations(gzip: Bool, seed: UInt64) throws {
        let dir = try Fixture.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let name = gzip ? "ct.nii.gz" : "ct.nii"
        let source = dir.appendingPathComponent("source.nii")
        let volume = try Volume.make(tensor: Fixture.tensor([8, 7, 6]), affine: Fixture.affine(spacing: [0.8, 0.9, 2.5], lps: true, oblique: true))
        try volume.write(to: source, datatype: .int16, compression: 0)
        let base = Array(try Data(contentsOf: source))
        var random = PhantomRandom(seed: seed)
        var refused = 0, loaded = 0
        let target = dir.appendingPathComponent(name)
        for _ in 0..<1500 {
            let bytes = Self.mutate(base, &random)
            if gzip { try Gzip.write(bytes, to: target) } else { try Data(bytes).write(to: target) }
            do {
                let v = try Volume.read(target, maxVoxels: 1 << 20)
                loaded += 1
                #expect(v.geometry.affine.allSatisfy { $0.allSatisfy(\.isFinite) })
                #expect(v.geometry.spacing.allSatisfy { $0 > 0 && $0.isFinite })
                #expect(v.tensor.count <= 1 << 20)
            } catch is NIfTIError {
                refused += 1
            }
        }
        #expect(refused > 100 && loaded > 100, "loaded \(loaded), refused \(refused): the mutations should exercise both sides")
    }

    @Test("each geometry field is named when it is refused", arguments: [
        (108, Float.nan, "vox_offset"), (108, Float.infinity, "vox_offset"), (108, Float(1e20), "vox_offset"),
        (80, Float(3e38), "pixdim[1]"), (80, Float.nan, "pixdim[1]"), (84, Float(0), "pixdim[2]"), (88, Float(-2), "pixdim[3]"),
        (280, Float(1e30), "srow_x[0]"), (296, Float.infinity, "srow_y[0]"), (324, Float.nan, "srow_z[3]"),
        (256, Float.nan, "quatern_b"), (276, Float.infinity, "qoffset_z"),
    ])
    func named(offset: Int, value: Float, field: String) throws {
        let dir = try Fixture.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("ct.nii")
        let volume = try Volume.make(tensor: Fixture.tensor([8, 8, 8]), affine: Fixture.affine(spacing: [1, 1, 1], lps: false, oblique: false))
        try volume.write(to: url, datatype: .int16, compression: 0)
        try Fixture.patch(url, at: offset, bytes: Fixture.le(value))
        #expect { try Volume.read(url) } throws: { error in
            guard case NIfTIError.invalidHeader(_, let named, _) = error else { return false }
            return named == field
        }
    }

    @Test("a singular sform is refused") func singular() throws {
        let dir = try Fixture.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("ct.nii")
        let volume = try Volume.make(tensor: Fixture.tensor([8, 8, 8]), affine: Fixture.affine(spacing: [1, 1, 1], lps: false, oblique: false))
        try volume.write(to: url, datatype: .int16, compression: 0)
        // Column 1 made equal to column 0: the voxel axes are parallel.
        for (row, base) in [280, 296, 312].enumerated() { try Fixture.patch(url, at: base + 4, bytes: Fixture.le(Float(row == 0 ? 1 : 0))) }
        #expect { try Volume.read(url) } throws: { "\($0)".contains("singular") }
    }

    @Test("bitpix must agree with the datatype") func bitpix() throws {
        let dir = try Fixture.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("ct.nii")
        let volume = try Volume.make(tensor: Fixture.tensor([8, 8, 8]), affine: Fixture.affine(spacing: [1, 1, 1], lps: false, oblique: false))
        try volume.write(to: url, datatype: .int16, compression: 0)
        try Fixture.patch(url, at: 72, bytes: Fixture.le(Int16(8)))
        #expect(throws: NIfTIError.invalidHeader(file: "ct.nii", field: "bitpix", detail: "is 8 but datatype int16 has 16 bits per voxel")) {
            try Volume.read(url)
        }
    }
}

/// A gzip file through libnifti's own znz layer, as `.nii.gz` uploads arrive.
enum Gzip {
    static func write(_ bytes: [UInt8], to url: URL) throws {
        guard let file = znzopen(url.path, "wb", 1) else { throw NIfTIError.writeFailed(file: url.lastPathComponent, reason: "znzopen") }
        var handle: znzFile? = file
        defer { Xznzclose(&handle) }
        _ = bytes.withUnsafeBytes { znzwrite($0.baseAddress, 1, bytes.count, file) }
    }
}
