import Foundation
import Testing
@testable import LumenIO

@Suite struct PNGTests {
    @Test func writtenMaskReadsBackItsSize() throws {
        let png = PNGImage.grey(width: 70, height: 3, pixels: [UInt8](repeating: 1, count: 70 * 3))
        #expect(try PNGImage.size(of: png) == (70, 3))
        #expect(PNGImage.crc32(Array("IEND".utf8)) == 0xAE42_6082)
    }

    @Test("bad PNGs are named", arguments: [
        ([UInt8](), PNGError.notPNG),
        (Array("GIF89a....".utf8), PNGError.notPNG),
        (PNGImage.signature + [0, 0, 0, 13], PNGError.truncated),
    ])
    func badInput(_ bytes: [UInt8], _ error: PNGError) {
        #expect(throws: error) { try PNGImage.size(of: bytes) }
    }

    @Test func absurdSizeIsRefused() {
        var png = PNGImage.grey(width: 1, height: 1, pixels: [0])
        png[16] = 0x7F
        #expect(throws: PNGError.absurdSize(width: 0x7F00_0001, height: 1, limit: PNGImage.maxPixels)) { try PNGImage.size(of: png) }
    }

    /// Regression: a 900-byte request claiming 32768 × 32768 made fixpolygon draw a 1-gigapixel mask (5.3 GB).
    @Test func sidesInRangeButTooManyPixelsIsRefused() {
        var png = PNGImage.grey(width: 1, height: 1, pixels: [0])
        png.replaceSubrange(16..<24, with: [0, 0, 0x80, 0, 0, 0, 0x80, 0])
        #expect(throws: PNGError.absurdSize(width: 32768, height: 32768, limit: PNGImage.maxPixels)) { try PNGImage.size(of: png) }
    }
}
