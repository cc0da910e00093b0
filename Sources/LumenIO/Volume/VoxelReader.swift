import CNIfTI
import Foundation

/// Reads the voxel bytes itself instead of calling `nifti_image_load`: libnifti
/// pads a short gzip stream with zeros and reports success, which would turn a
/// half-uploaded CT into a plausible-looking volume. Here a short read is an error.
enum VoxelReader {
    static func read(_ probe: NIfTIHeaderProbe, into nim: UnsafeMutablePointer<nifti_image>,
                     name: String) throws -> UnsafeMutableRawPointer {
        let bytes = Int(nim.pointee.nvox) * Int(nim.pointee.nbyper)
        guard bytes == probe.dataBytes else { throw NIfTIError.readFailed(file: name) }
        let compressed = probe.imagePath.hasSuffix(".gz")
        guard let file = znzopen(probe.imagePath, "rb", compressed ? 1 : 0) else {
            throw NIfTIError.readFailed(file: name)
        }
        var handle: znzFile? = file
        defer { Xznzclose(&handle) }
        let offset = Int(nim.pointee.iname_offset)
        guard znzseek(file, offset, SEEK_SET) >= 0 else {
            throw compressed ? NIfTIError.gzipEndsEarly(file: name)
                             : NIfTIError.truncatedData(file: name, expected: bytes, available: 0)
        }
        guard let buffer = malloc(max(bytes, 1)) else { throw NIfTIError.readFailed(file: name) }
        var done = 0
        while done < bytes {
            let chunk = min(bytes - done, 1 << 26)
            let got = znzread(buffer + done, 1, chunk, file)
            if got <= 0 { break }
            done += got
        }
        guard done == bytes else {
            free(buffer)
            if compressed { throw NIfTIError.gzipEndsEarly(file: name) }
            throw NIfTIError.truncatedData(file: name, expected: bytes, available: done)
        }
        if Int(nim.pointee.byteorder) != Int(nifti_short_order()), nim.pointee.swapsize > 1 {
            nifti_swap_Nbytes(Int(nim.pointee.nvox), nim.pointee.swapsize, buffer)
        }
        return buffer
    }
}
