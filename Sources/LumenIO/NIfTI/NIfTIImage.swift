import CNIfTI
import Foundation

/// Owns one libnifti `nifti_image` and frees it in `deinit`.
///
/// After loading, Lumen keeps only the header half (data unloaded) so that a
/// result can be written with the source's geometry exactly as it arrived.
public final class NIfTIImage: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<nifti_image>

    init(taking pointer: UnsafeMutablePointer<nifti_image>) {
        self.pointer = pointer
    }

    deinit { nifti_image_free(pointer) }

    /// A header-only copy; the caller owns the result and fills its data.
    func copyHeader() -> UnsafeMutablePointer<nifti_image>? {
        guard let copy = nifti_copy_nim_info(pointer) else { return nil }
        copy.pointee.data = nil
        return copy
    }

    var image: nifti_image { pointer.pointee }
}

extension mat44 {
    var rows: [[Double]] {
        withUnsafeBytes(of: m) { raw in
            let f = raw.bindMemory(to: Float.self)
            return (0..<4).map { r in (0..<4).map { c in Double(f[r * 4 + c]) } }
        }
    }

    init(rows: [[Double]]) {
        self.init()
        withUnsafeMutableBytes(of: &m) { raw in
            let f = raw.bindMemory(to: Float.self)
            for r in 0..<4 { for c in 0..<4 { f[r * 4 + c] = Float(rows[r][c]) } }
        }
    }
}

func cString<T>(_ tuple: T) -> String {
    withUnsafeBytes(of: tuple) { raw in
        let bytes = raw.prefix { $0 != 0 }
        return String(decoding: bytes, as: UTF8.self)
    }
}
