import Testing
@testable import LumenTensor

/// The LUMEN_* engine switches are read in one place and held to ranges: a bad value is named and
/// ignored instead of reaching a division or an allocation.
@Suite("Engine options")
struct EngineOptionsTests {
    @Test("defaults without the variables")
    func defaults() {
        let o = EngineOptions(environment: [:])
        #expect(o.threads >= 1 && o.computeNice == 5 && o.chunkFloats == 1 << 18)
        #expect(o.direct && o.winograd && o.winograd43 && o.winogradMinChannels == 16 && o.winograd43MaxChannels == 16)
        #expect(o.problems.isEmpty)
    }

    @Test("values are honoured or named and ignored", arguments: [
        (["LUMEN_THREADS": "3"], true),
        (["LUMEN_THREADS": "0"], false),
        (["LUMEN_THREADS": "many"], false),
        (["LUMEN_CHUNK_FLOATS": "-5"], false),
        (["LUMEN_COMPUTE_NICE": "25"], false),
        (["LUMEN_WINOGRAD": "0"], true),
        (["LUMEN_WINOGRAD": "no"], false),
        (["LUMEN_WINOGRAD43_MAX": "64"], true),
    ])
    func checked(environment: [String: String], honoured: Bool) {
        let o = EngineOptions(environment: environment)
        #expect(o.problems.isEmpty == honoured, "\(o.problems)")
        if !honoured { #expect(o.problems[0].hasPrefix(environment.keys.first!)) }
        if environment["LUMEN_THREADS"] == "3" { #expect(o.threads == 3) }
        if environment["LUMEN_WINOGRAD"] == "0" { #expect(!o.winograd) }
        if environment["LUMEN_WINOGRAD43_MAX"] == "64" { #expect(o.winograd43MaxChannels == 64) }
        if environment["LUMEN_CHUNK_FLOATS"] == "-5" { #expect(o.chunkFloats == 1 << 18) }
    }
}
