import Testing
@testable import LumenTensor
