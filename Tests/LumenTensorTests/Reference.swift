import Foundation
import LumenTensor

/// Straight-from-the-formula references (networks.md §1), in Double, with
/// nothing shared with the kernels they check.
enum Reference {
    /// (N, C, D, H, W) with D = 1 for NCHW.
    static func dims(_ shape: [Int]) -> (Int, Int, Int, Int, Int) {
        shape.count == 5 ? (shape[0], shape[1], shape[2], shape[3], shape[4]) : (shape[0], shape[1], 1, shape[2], shape[3])
    }

    static func as3D(_ v: [Int], pad: Int) -> [Int] { v.count == 3 ? v : [pad] + v }

    static func act(_ v: Double, _ a: Activation) -> Double {
        switch a {
        case .identity: return v
        case .relu: return max(0, v)
        case .leakyReLU(let s), .prelu(let s): return max(0, v) + Double(s) * min(0, v)
        case .sigmoid: return 1 / (1 + exp(-v))
        }
    }

    /// out[o,z,y,x] = b[o] + Σ W[o,i,a,b,c]·in[i, z·s+a−p, y·s+b−p, x·s+c−p], then epilogue.
    static func conv(_ x: Tensor, _ w: Tensor, _ bias: [Float]?, kernel: [Int], stride strides: [Int], padding: [Int],
                     epilogue e: Epilogue = .init()) -> Tensor {
        let (n, cin, d, h, wd) = dims(x.shape)
        let k = as3D(kernel, pad: 1), s = as3D(strides, pad: 1), p = as3D(padding, pad: 0)
        let cout = w.shape[0]
        var outSpatial: [Int] = []
        for a in 0..<kernel.count {
            let extent: Int = x.shape[2 + a] + 2 * padding[a] - kernel[a]
            outSpatial.append(extent / strides[a] + 1)
        }
        let (_, _, od, oh, ow) = dims([n, cout] + outSpatial)
        var y = Tensor(zeros: [n, cout] + outSpatial)
        for b in 0..<n { for co in 0..<cout { for z in 0..<od { for yy in 0..<oh { for xx in 0..<ow {
            var acc = Double(bias?[co] ?? 0)
            for ci in 0..<cin { for a in 0..<k[0] { for bb in 0..<k[1] { for c in 0..<k[2] {
                let iz: Int = z * s[0] + a - p[0], iy: Int = yy * s[1] + bb - p[1], ix: Int = xx * s[2] + c - p[2]
                guard iz >= 0, iz < d, iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                let xi: Int = (((b * cin + ci) * d + iz) * h + iy) * wd + ix
                let wi: Int = (((co * cin + ci) * k[0] + a) * k[1] + bb) * k[2] + c
                acc += Double(x.data[xi]) * Double(w.data[wi])
            } } } }
            let yi: Int = (((b * cout + co) * od + z) * oh + yy) * ow + xx
            y.data[yi] = Float(epilogue(acc, co, e))
        } } } } }
        return y
    }

    static func epilogue(_ v: Double, _ c: Int, _ e: Epilogue) -> Double {
        act(v * Double(e.scale?[c] ?? 1) + Double(e.shift?[c] ?? 0), e.activation)
    }

    /// out[o, z·s−p+a, …] += W[i,o,a,b,c]·in[i,z,…]; output = (n−1)·s − 2p + k + op; then + b[o].
    static func convTranspose(_ x: Tensor, _ w: Tensor, _ bias: [Float]?, kernel: [Int], stride strides: [Int], padding: [Int],
                              outputPadding: [Int], epilogue e: Epilogue = .init()) -> Tensor {
        let (n, cin, d, h, wd) = dims(x.shape)
        let k = as3D(kernel, pad: 1), s = as3D(strides, pad: 1), p = as3D(padding, pad: 0)
        let cout = w.shape[1]
        var outSpatial: [Int] = []
        for a in 0..<kernel.count {
            let grown: Int = (x.shape[2 + a] - 1) * strides[a] - 2 * padding[a]
            outSpatial.append(grown + kernel[a] + outputPadding[a])
        }
        let (_, _, od, oh, ow) = dims([n, cout] + outSpatial)
        var acc = [Double](repeating: 0, count: n * cout * od * oh * ow)
        for b in 0..<n { for ci in 0..<cin { for z in 0..<d { for yy in 0..<h { for xx in 0..<wd {
            let xi: Int = (((b * cin + ci) * d + z) * h + yy) * wd + xx
            let v = Double(x.data[xi])
            for co in 0..<cout { for a in 0..<k[0] { for bb in 0..<k[1] { for c in 0..<k[2] {
                let oz: Int = z * s[0] + a - p[0], oy: Int = yy * s[1] + bb - p[1], ox: Int = xx * s[2] + c - p[2]
                guard oz >= 0, oz < od, oy >= 0, oy < oh, ox >= 0, ox < ow else { continue }
                let yi: Int = (((b * cout + co) * od + oz) * oh + oy) * ow + ox
                let wi: Int = (((ci * cout + co) * k[0] + a) * k[1] + bb) * k[2] + c
                acc[yi] += v * Double(w.data[wi])
            } } } }
        } } } } }
        let plane = od * oh * ow
        return Tensor(shape: [n, cout] + outSpatial, data: acc.indices.map { i in
            let co = (i / plane) % cout
            return Float(epilogue(acc[i] + Double(bias?[co] ?? 0), co, e))
        })
    }

    /// Per sample and group: (x − mean)/√(var + eps)·w + b, biased variance.
    static func groupNorm(_ x: Tensor, groups: Int, weight: [Float]?, bias: [Float]?, eps: Double = 1e-5,
                          activation: Activation = .identity) -> Tensor {
        let n = x.shape[0], c = x.shape[1], s = x.shape.dropFirst(2).reduce(1, *)
        let per = c / groups
        var y = x
        for b in 0..<n { for g in 0..<groups {
            let range = ((b * c + g * per) * s)..<((b * c + (g + 1) * per) * s)
            let values = x.data[range].map(Double.init)
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
            for i in range {
                let ch = (i / s) % c
                let v = (Double(x.data[i]) - mean) / (variance + eps).squareRoot() * Double(weight?[ch] ?? 1) + Double(bias?[ch] ?? 0)
                y.data[i] = Float(act(v, activation))
            }
        } }
        return y
    }

    static func maxPool(_ x: Tensor, kernel k: Int, stride s: Int) -> Tensor {
        let (n, c, d, h, w) = dims(x.shape)
        let kd = x.rank == 5 ? k : 1, sd = x.rank == 5 ? s : 1
        let out = x.shape.dropFirst(2).map { ($0 - k) / s + 1 }
        let (_, _, od, oh, ow) = dims([n, c] + out)
        var y = Tensor(zeros: [n, c] + out)
        for pl in 0..<(n * c) { for z in 0..<od { for yy in 0..<oh { for xx in 0..<ow {
            var m = -Float.infinity
            for a in 0..<kd { for b in 0..<k { for cc in 0..<k {
                m = max(m, x.data[((pl * d + z * sd + a) * h + yy * s + b) * w + xx * s + cc])
            } } }
            y.data[((pl * od + z) * oh + yy) * ow + xx] = m
        } } } }
        return y
    }

    /// torch's linear interpolation: per axis src = max(0, (dst + ½)/scale − ½),
    /// i0 = ⌊src⌋, i1 = min(i0 + 1, n − 1), weights (1 − λ, λ); product over axes.
    static func upsampleLinear(_ x: Tensor, scale: Int) -> Tensor {
        let spatial = Array(x.shape.dropFirst(2))
        let out = spatial.map { $0 * scale }
        let planes = x.shape[0] * x.shape[1]
        let inCount = spatial.reduce(1, *), outCount = out.reduce(1, *)
        var y = Tensor(zeros: [x.shape[0], x.shape[1]] + out)
        for pl in 0..<planes { for o in 0..<outCount {
            var idx = [Int](repeating: 0, count: out.count)
            var r = o
            for a in stride(from: out.count - 1, through: 0, by: -1) { idx[a] = r % out[a]; r /= out[a] }
            var corners: [(Int, Double)] = [(0, 1)]
            for a in 0..<out.count {
                let src = max(0, (Double(idx[a]) + 0.5) / Double(scale) - 0.5)
                let i0 = Int(src.rounded(.down)), i1 = min(i0 + 1, spatial[a] - 1), l = src - Double(i0)
                corners = corners.flatMap { (off, wgt) in [(off * spatial[a] + i0, wgt * (1 - l)), (off * spatial[a] + i1, wgt * l)] }
            }
            y.data[pl * outCount + o] = Float(corners.reduce(0.0) { $0 + $1.1 * Double(x.data[pl * inCount + $1.0]) })
        } }
        return y
    }

    static func upsampleNearest(_ x: Tensor, scale: Int) -> Tensor {
        let spatial = Array(x.shape.dropFirst(2))
        let out = spatial.map { $0 * scale }
        let inCount = spatial.reduce(1, *), outCount = out.reduce(1, *)
        var y = Tensor(zeros: [x.shape[0], x.shape[1]] + out)
        for pl in 0..<(x.shape[0] * x.shape[1]) { for o in 0..<outCount {
            var r = o, src = 0, mul = 1
            for a in stride(from: out.count - 1, through: 0, by: -1) {
                src += (r % out[a]) / scale * mul; mul *= spatial[a]; r /= out[a]
            }
            y.data[pl * outCount + o] = x.data[pl * inCount + src]
        } }
        return y
    }

    static func softmaxChannels(_ x: Tensor) -> Tensor {
        let n = x.shape[0], c = x.shape[1], s = x.shape.dropFirst(2).reduce(1, *)
        var y = x
        for b in 0..<n { for i in 0..<s {
            let e = (0..<c).map { exp(Double(x.data[(b * c + $0) * s + i])) }
            let total = e.reduce(0, +)
            for ch in 0..<c { y.data[(b * c + ch) * s + i] = Float(e[ch] / total) }
        } }
        return y
    }

    /// Values in [-1, 1] (times `scale`, plus `offset`) from a fixed xorshift stream.
    static func random(_ shape: [Int], seed: Int, scale: Float = 1, offset: Float = 0) -> Tensor {
        var state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 | 1
        return Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return (Float(state % 20_001) / 10_000 - 1) * scale + offset
        })
    }

    static func vector(_ count: Int, seed: Int, scale: Float = 1, offset: Float = 0) -> [Float] {
        random([count], seed: seed, scale: scale, offset: offset).data
    }
}

/// max |a − b| / max(1, max |b|): relative to the output's magnitude, so large
/// activations are not held to an absolute tolerance they cannot meet in float32.
func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
    guard a.shape == b.shape else { return .infinity }
    let scale = max(1, b.data.map(abs).max() ?? 0)
    return (zip(a.data, b.data).map { abs($0 - $1) }.max() ?? 0) / scale
}
