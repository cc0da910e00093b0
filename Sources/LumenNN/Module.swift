import LumenTensor

/// A network family's body: built from its args, bound to a state dict, run.
protocol NetworkBody: AnyObject {
    var store: ParamStore { get }
    var inChannels: Int { get }
    var outChannels: Int { get }
    var spatialDims: Int { get }
    /// Spatial sizes must be multiples of this (1 where any size works).
    var sizeMultiple: [Int] { get }
    func bind()
    func forward(_ x: Tensor) -> Tensor
}
