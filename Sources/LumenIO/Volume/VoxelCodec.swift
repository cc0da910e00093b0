/// Converts between NIfTI's on-disk voxel order (i fastest) and Lumen's
/// channel-first `[C, I, J, K]` tensors (k fastest), for every scalar datatype.
enum VoxelCodec {
    static func decode(_ raw: UnsafeRawPointer, datatype: NIfTIDatatype, spatial: [Int], channels: Int,
                       slope: Double, intercept: Double) -> [Float] {
        switch datatype {
        case .uint8: gather(raw, UInt8.self, spatial, channels, slope, intercept) { Double($0) }
        case .int8: gather(raw, Int8.self, spatial, channels, slope, intercept) { Double($0) }
        case .uint16: gather(raw, UInt16.self, spatial, channels, slope, intercept) { Double($0) }
        case .int16: gather(raw, Int16.self, spatial, channels, slope, intercept) { Double($0) }
        case .uint32: gather(raw, UInt32.self, spatial, channels, slope, intercept) { Double($0) }
        case .int32: gather(raw, Int32.self, spatial, channels, slope, intercept) { Double($0) }
        case .uint64: gather(raw, UInt64.self, spatial, channels, slope, intercept) { Double($0) }
        case .int64: gather(raw, Int64.self, spatial, channels, slope, intercept) { Double($0) }
        case .float32: gather(raw, Float.self, spatial, channels, slope, intercept) { Double($0) }
        case .float64: gather(raw, Double.self, spatial, channels, slope, intercept) { $0 }
        default: preconditionFailure("non-scalar datatypes are refused by the header probe")
        }
    }

    /// Writes `values` into `raw` in file order; integer types round to nearest and clamp.
    static func encode(_ values: [Float], into raw: UnsafeMutableRawPointer, datatype: NIfTIDatatype,
                       spatial: [Int], channels: Int) {
        switch datatype {
        case .uint8: scatter(values, raw, UInt8.self, spatial, channels) { UInt8(clamping: rounded($0)) }
        case .int8: scatter(values, raw, Int8.self, spatial, channels) { Int8(clamping: rounded($0)) }
        case .uint16: scatter(values, raw, UInt16.self, spatial, channels) { UInt16(clamping: rounded($0)) }
        case .int16: scatter(values, raw, Int16.self, spatial, channels) { Int16(clamping: rounded($0)) }
        case .uint32: scatter(values, raw, UInt32.self, spatial, channels) { UInt32(clamping: rounded($0)) }
        case .int32: scatter(values, raw, Int32.self, spatial, channels) { Int32(clamping: rounded($0)) }
        case .uint64: scatter(values, raw, UInt64.self, spatial, channels) { UInt64(clamping: rounded($0)) }
        case .int64: scatter(values, raw, Int64.self, spatial, channels) { rounded($0) }
        case .float32: scatter(values, raw, Float.self, spatial, channels) { $0 }
        case .float64: scatter(values, raw, Double.self, spatial, channels) { Double($0) }
        default: preconditionFailure("only scalar datatypes are written")
        }
    }

    /// NaN and out-of-range floats must not trap the server; they clamp instead.
    @inline(__always)
    static func rounded(_ x: Float) -> Int64 {
        if x.isNaN { return 0 }
        if x >= 9.2e18 { return .max }
        if x <= -9.2e18 { return .min }
        return Int64(x.rounded())
    }

    @inline(__always)
    private static func gather<T>(_ raw: UnsafeRawPointer, _: T.Type, _ spatial: [Int], _ channels: Int,
                                  _ slope: Double, _ intercept: Double, _ convert: (T) -> Double) -> [Float] {
        let (ni, nj, nk) = (spatial[0], spatial[1], spatial[2])
        let src = raw.assumingMemoryBound(to: T.self)
        let identity = slope == 1 && intercept == 0
        return [Float](unsafeUninitializedCapacity: ni * nj * nk * channels) { out, count in
            // For each (c, j) the file holds a k × i plane (i fastest) and the tensor an i × k
            // plane (k fastest): transposed in 32 × 32 tiles, so both sides stay in cache.
            let tile = 32
            for c in 0..<channels {
                for j in 0..<nj {
                    for k0 in stride(from: 0, to: nk, by: tile) {
                        for i0 in stride(from: 0, to: ni, by: tile) {
                            for k in k0..<min(k0 + tile, nk) {
                                let fileRow = ((c * nk + k) * nj + j) * ni
                                for i in i0..<min(i0 + tile, ni) {
                                    let v = convert(src[fileRow + i])
                                    out[((c * ni + i) * nj + j) * nk + k] = Float(identity ? v : v * slope + intercept)
                                }
                            }
                        }
                    }
                }
            }
            count = ni * nj * nk * channels
        }
    }

    @inline(__always)
    private static func scatter<T>(_ values: [Float], _ raw: UnsafeMutableRawPointer, _: T.Type,
                                   _ spatial: [Int], _ channels: Int, _ convert: (Float) -> T) {
        let (ni, nj, nk) = (spatial[0], spatial[1], spatial[2])
        let dst = raw.assumingMemoryBound(to: T.self)
        values.withUnsafeBufferPointer { src in
            let tile = 32   // see gather: the same plane transpose, in tiles
            for c in 0..<channels {
                for j in 0..<nj {
                    for k0 in stride(from: 0, to: nk, by: tile) {
                        for i0 in stride(from: 0, to: ni, by: tile) {
                            for k in k0..<min(k0 + tile, nk) {
                                let fileRow = ((c * nk + k) * nj + j) * ni
                                for i in i0..<min(i0 + tile, ni) {
                                    dst[fileRow + i] = convert(src[((c * ni + i) * nj + j) * nk + k])
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
