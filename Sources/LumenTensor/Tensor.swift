/// A dense Float32 tensor in row-major (C) order, NCDHW for volumes.
///
/// Storage is a Swift array so copies are cheap until written (copy on write);
/// hot loops reach the bytes through `withUnsafe…BufferPointer`.
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count,
                     "shape \(shape) needs \(shape.reduce(1, *)) values, got \(data.count)")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        self.shape = shape
        self.data = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    /// Storage that every element of will be written before it is read (kernel
    /// outputs); skipping the zero fill saves a full pass over large volumes.
    public init(uninitialized shape: [Int]) {
        self.shape = shape
        let n = shape.reduce(1, *)
        self.data = [Float](unsafeUninitializedCapacity: n) { _, count in count = n }
    }

    public var count: Int { data.count }
    public var rank: Int { shape.count }
}
