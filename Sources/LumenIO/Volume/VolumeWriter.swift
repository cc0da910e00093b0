import CNIfTI
import Foundation

extension Volume {
    /// Writes the voxels with the source header's geometry untouched: qform and
    /// sform codes and matrices, quaternion parameters, pixdim and units. Only the
    /// datatype, dimensions and scaling change (values are written unscaled).
    ///
    /// The file appears atomically: libnifti writes a temp file next to the
    /// destination, which is fsynced and renamed into place.
    /// `compression` is the gzip level for `.gz` files: label maps sent back to a waiting
    /// client use 1, which is several times faster and barely larger on mostly-zero masks.
    public func write(to url: URL, datatype: NIfTIDatatype = .float32, compression: Int = 6) throws {
        let name = url.lastPathComponent
        guard datatype.isScalar else {
            throw NIfTIError.writeFailed(file: name, reason: "\(datatype.name) is not a scalar datatype")
        }
        let lower = name.lowercased()
        let isPair = lower.hasSuffix(".hdr") || lower.hasSuffix(".hdr.gz")
        guard lower.hasSuffix(".nii") || lower.hasSuffix(".nii.gz") || isPair else {
            throw NIfTIError.unsupportedExtension(file: name)
        }
        let owner = try prepared(datatype: datatype, name: name)
        defer { withExtendedLifetime(owner) {} }   // the pointer below must not outlive its owner
        let nim = owner.pointer

        let temp = AtomicFile.temporaryURL(for: url)
        guard nifti_set_filenames(nim, temp.path, 0, 1) == 0 else {
            throw NIfTIError.writeFailed(file: name, reason: "libnifti rejected the file name")
        }
        nim.pointee.nifti_type = isPair ? 2 : 1   // NIFTI_FTYPE_NIFTI1_2 / NIFTI1_1
        let level = min(max(compression, 1), 9)
        _ = nifti_image_write_hdr_img2(nim, 1, "wb\(level)", nil, nil)

        var written: [(URL, URL)] = [(temp, url)]
        if isPair {
            let imageExt = lower.hasSuffix(".gz") ? ".img.gz" : ".img"
            let hdrExt = lower.hasSuffix(".gz") ? ".hdr.gz" : ".hdr"
            let tempImage = URL(fileURLWithPath: String(temp.path.dropLast(hdrExt.count)) + imageExt)
            let image = URL(fileURLWithPath: String(url.path.dropLast(hdrExt.count)) + imageExt)
            written.insert((tempImage, image), at: 0)
        }
        for (tempFile, _) in written where !FileManager.default.fileExists(atPath: tempFile.path) {
            written.forEach { try? FileManager.default.removeItem(at: $0.0) }
            throw NIfTIError.writeFailed(file: name, reason: "libnifti did not produce \(tempFile.lastPathComponent)")
        }
        for (tempFile, final) in written {   // image data first, header last
            try AtomicFile.commit(tempFile, to: final)
        }
    }

    /// The same file as `write(to:)` would make for a `.nii.gz`, in memory: for replies, which would
    /// otherwise go to a scratch file and be read back. Extensions of the source header are not
    /// carried (a label map needs none, and they may hold text from the original scanner).
    public func encodedNIfTIGz(datatype: NIfTIDatatype = .uint8, compression: Int = 1) throws -> Data {
        guard datatype.isScalar else {
            throw NIfTIError.writeFailed(file: "(in memory)", reason: "\(datatype.name) is not a scalar datatype")
        }
        let owner = try prepared(datatype: datatype, name: "(in memory)")
        defer { withExtendedLifetime(owner) {} }
        let nim = owner.pointer
        nim.pointee.nifti_type = 1   // NIFTI1_1: one file, header then data at 352
        var header = nifti_convert_nim2nhdr(nim)
        header.vox_offset = 352
        var head = [UInt8](repeating: 0, count: 352)   // the header, then 4 zero bytes: no extensions
        withUnsafeBytes(of: &header) { head.replaceSubrange(0..<348, with: $0.prefix(348)) }
        let voxels = UnsafeRawBufferPointer(start: nim.pointee.data, count: Int(nim.pointee.nvox) * Int(nim.pointee.nbyper))
        return try head.withUnsafeBytes { try Gzip.compress([$0, voxels], level: compression) }
    }

    /// A header copied from the source with this volume's dimensions and datatype, and the
    /// voxels encoded into it, owned (and freed, data included) by the returned `NIfTIImage`.
    private func prepared(datatype: NIfTIDatatype, name: String) throws -> NIfTIImage {
        guard let nim = header.copyHeader() else {
            throw NIfTIError.writeFailed(file: name, reason: "libnifti could not copy the header")
        }
        let owner = NIfTIImage(taking: nim)
        let spatial = spatialShape
        setDimensions(nim, spatial: spatial, channels: channels, datatype: datatype)
        guard let buffer = malloc(Int(nim.pointee.nvox) * Int(nim.pointee.nbyper)) else {
            throw NIfTIError.writeFailed(file: name, reason: "out of memory")
        }
        nim.pointee.data = buffer
        VoxelCodec.encode(tensor.data, into: buffer, datatype: datatype, spatial: spatial, channels: channels)
        return owner
    }

    private func setDimensions(_ nim: UnsafeMutablePointer<nifti_image>, spatial: [Int], channels: Int,
                               datatype: NIfTIDatatype) {
        let sourceRank = Int(nim.pointee.dim.0)
        let rank = channels > 1 ? 4 : min(max(sourceRank, spatial[2] > 1 ? 3 : 2), 3)
        let sizes = spatial + [channels, 1, 1, 1]
        withUnsafeMutableBytes(of: &nim.pointee.dim) { raw in
            let dim = raw.bindMemory(to: Int32.self)
            dim[0] = Int32(rank)
            for d in 1...7 { dim[d] = d <= rank ? Int32(sizes[d - 1]) : 1 }
        }
        withUnsafeMutableBytes(of: &nim.pointee.pixdim) { raw in
            let pixdim = raw.bindMemory(to: Float.self)
            for d in (rank + 1)..<8 where pixdim[d] == 0 { pixdim[d] = 1 }
        }
        nifti_update_dims_from_array(nim)
        nim.pointee.datatype = datatype.rawValue
        var nbyper: Int32 = 0, swapsize: Int32 = 0
        nifti_datatype_sizes(datatype.rawValue, &nbyper, &swapsize)
        nim.pointee.nbyper = nbyper
        nim.pointee.swapsize = swapsize
        nim.pointee.scl_slope = 1
        nim.pointee.scl_inter = 0
        nim.pointee.cal_min = 0
        nim.pointee.cal_max = 0
    }
}
