/// An RGB raster to draw previews on: pixels, lines, boxes, markers and text. Small and
/// dependency-free on purpose: a few images per request or per document need nothing more.
public struct Canvas: Sendable {
    public let width: Int
    public let height: Int
    /// Row-major RGB, 3 bytes per pixel.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, background: RGB = .black) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fill(x: 0, y: 0, width: width, height: height, background)
    }

    public subscript(x: Int, y: Int) -> RGB {
        get {
            let o = (y * width + x) * 3
            return RGB(pixels[o], pixels[o + 1], pixels[o + 2])
        }
        set { set(x, y, newValue) }
    }

    public mutating func set(_ x: Int, _ y: Int, _ c: RGB) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let o = (y * width + x) * 3
        pixels[o] = c.r; pixels[o + 1] = c.g; pixels[o + 2] = c.b
    }

    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, _ c: RGB) {
        for yy in max(y, 0)..<min(y + h, height) { for xx in max(x, 0)..<min(x + w, width) { set(xx, yy, c) } }
    }

    public mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: RGB) {
        var (x, y) = (x0, y0)
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var err = dx + dy
        while true {
            set(x, y, c)
            if x == x1 && y == y1 { return }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    /// A click: foreground a filled disc, background an X, both ringed in black so they read on
    /// any grey and do not depend on colour alone.
    public mutating func marker(x: Int, y: Int, foreground: Bool, _ c: RGB) {
        let r = 4
        for dy in -r - 1...r + 1 { for dx in -r - 1...r + 1 {
            let d2 = dx * dx + dy * dy
            if foreground {
                if d2 <= r * r { set(x + dx, y + dy, c) } else if d2 <= (r + 1) * (r + 1) { set(x + dx, y + dy, .black) }
            } else if abs(abs(dx) - abs(dy)) <= 1 && abs(dx) <= r + 1 {
                set(x + dx, y + dy, abs(abs(dx) - abs(dy)) == 0 && abs(dx) <= r ? c : .black)
            }
        } }
    }

    /// Upper-case text in the 5 × 7 font, `scale` pixels per font pixel; returns the width drawn.
    @discardableResult
    public mutating func text(_ s: String, x: Int, y: Int, scale: Int = 1, _ c: RGB) -> Int {
        var cx = x
        for ch in s.uppercased() {
            let rows = Font.glyph(ch)
            for (row, bits) in rows.enumerated() {
                for col in 0..<5 where bits & (1 << (4 - col)) != 0 {
                    fill(x: cx + col * scale, y: y + row * scale, width: scale, height: scale, c)
                }
            }
            cx += 6 * scale
        }
        return cx - x
    }

    public static func textWidth(_ s: String, scale: Int = 1) -> Int { s.count * 6 * scale }

    /// Copies `other` in at (x, y).
    public mutating func draw(_ other: Canvas, x: Int, y: Int) {
        for yy in 0..<other.height { for xx in 0..<other.width { set(x + xx, y + yy, other[xx, yy]) } }
    }
}

public struct RGB: Sendable, Equatable, Hashable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }
    public init(hex: UInt32) { self.init(UInt8(hex >> 16 & 0xFF), UInt8(hex >> 8 & 0xFF), UInt8(hex & 0xFF)) }
    public static let black = RGB(0, 0, 0)
    public static let white = RGB(255, 255, 255)
    public var isGrey: Bool { r == g && g == b }
}
