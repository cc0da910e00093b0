import LumenTensor

/// A network family's body: its declared parameters and its frozen plan.
protocol NetworkBody: AnyObject {
    var store: ParamStore { get }
    var plan: ExecutionPlan { get }
    var inChannels: Int { get }
    var outChannels: Int { get }
    var spatialDims: Int { get }
    /// Spatial sizes must be multiples of this (1 where any size works).
    var sizeMultiple: [Int] { get }
    /// Smallest legal spatial size (BasicUNet pools four times without padding).
    var minimumSize: Int { get }
    /// The same definition as an older MONAI built it, when the checkpoint shows that layout.
    func legacyAlternative(for stateDict: [String: Tensor]) throws -> NetworkBody?
}

extension NetworkBody {
    var minimumSize: Int { 1 }
    func legacyAlternative(for stateDict: [String: Tensor]) throws -> NetworkBody? { nil }
    func bind() { plan.bind(store) }
    func forward(_ x: Tensor) -> Tensor { plan.run(x) }
}
