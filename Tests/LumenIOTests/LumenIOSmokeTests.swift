import Testing
@testable import LumenIO
