import CNIfTI
import Foundation

/// gzip in memory through zlib (which libnifti's znzlib already links), for NIfTI replies that
/// need no file.
enum Gzip {
    static func compress(_ input: Data, level: Int) throws -> Data {
        guard input.count < Int(UInt32.max) else {
            throw NIfTIError.writeFailed(file: "(in memory)", reason: "\(input.count >> 20) MiB is more than one gzip call takes")
        }
        var stream = z_stream()
        // windowBits 15 + 16: a gzip wrapper, as .nii.gz readers expect.
        guard deflateInit2_(&stream, Int32(min(max(level, 1), 9)), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                            zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw NIfTIError.writeFailed(file: "(in memory)", reason: "zlib could not start a gzip stream")
        }
        defer { deflateEnd(&stream) }
        var output = Data(count: Int(deflateBound(&stream, UInt(input.count))) + 64)
        let status: Int32 = input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { target in
                stream.next_in = UnsafeMutablePointer(mutating: source.bindMemory(to: Bytef.self).baseAddress)
                stream.avail_in = uInt(source.count)
                stream.next_out = target.bindMemory(to: Bytef.self).baseAddress
                stream.avail_out = uInt(target.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else {
            throw NIfTIError.writeFailed(file: "(in memory)", reason: "zlib stopped with status \(status)")
        }
        output.count = Int(stream.total_out)
        return output
    }
}
