/// Element-wise activations, applied inside the producing kernel's output
/// pass so an activation never costs its own trip through memory.
public enum Activation: Sendable, Equatable {
    case identity
    case relu
    case leakyReLU(Float)
    /// MONAI's PReLU has a single learned slope.
    case prelu(Float)
    case sigmoid

    @inline(__always)
    public func callAsFunction(_ v: Float) -> Float {
        switch self {
        case .identity: return v
        case .relu: return v > 0 ? v : 0
        case .leakyReLU(let a), .prelu(let a): return v >= 0 ? v : a * v
        case .sigmoid: return 1 / (1 + expf(-v))
        }
    }

    /// y = act(x · scale + shift) over `count` values, with the branch on the
    /// activation kind hoisted out of the loop so the loop vectorises.
    @inline(__always)
    func apply(_ p: UnsafeMutablePointer<Float>, count: Int, scale: Float, shift: Float) {
        switch self {
        case .identity:
            for i in 0..<count { p[i] = p[i] * scale + shift }
        case .relu:
            for i in 0..<count { let v = p[i] * scale + shift; p[i] = v > 0 ? v : 0 }
        case .leakyReLU(let a), .prelu(let a):
            for i in 0..<count { let v = p[i] * scale + shift; p[i] = v >= 0 ? v : a * v }
        case .sigmoid:
            for i in 0..<count { p[i] = 1 / (1 + expf(-(p[i] * scale + shift))) }
        }
    }

    /// dst = act(src · scale + shift); src and dst may be the same buffer.
    @inline(__always)
    func apply(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int, scale: Float, shift: Float) {
        switch self {
        case .identity:
            for i in 0..<count { dst[i] = src[i] * scale + shift }
        case .relu:
            for i in 0..<count { let v = src[i] * scale + shift; dst[i] = v > 0 ? v : 0 }
        case .leakyReLU(let a), .prelu(let a):
            for i in 0..<count { let v = src[i] * scale + shift; dst[i] = v >= 0 ? v : a * v }
        case .sigmoid:
            for i in 0..<count { dst[i] = 1 / (1 + expf(-(src[i] * scale + shift))) }
        }
    }

    /// Adds a per-channel bias and applies the activation to `count` values.
    @inline(__always)
    func apply(_ p: UnsafeMutablePointer<Float>, count: Int, bias: Float) {
        switch self {
        case .identity:
            if bias != 0 { for i in 0..<count { p[i] += bias } }
        case .relu:
            for i in 0..<count { let v = p[i] + bias; p[i] = v > 0 ? v : 0 }
        case .leakyReLU(let a), .prelu(let a):
            for i in 0..<count { let v = p[i] + bias; p[i] = v >= 0 ? v : a * v }
        case .sigmoid:
            for i in 0..<count { p[i] = 1 / (1 + expf(-(p[i] + bias))) }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
