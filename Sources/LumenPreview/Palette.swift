/// Label colours: the Okabe–Ito palette, which readers with the common colour-vision deficiencies
/// can still tell apart, fixed per label name so that "liver" has one colour in every bundle and
/// every picture. Names outside the table get a colour from a stable hash of the name.
public enum Palette {
    public static let okabeIto: [RGB] = [
        RGB(hex: 0xE69F00), RGB(hex: 0x56B4E9), RGB(hex: 0x009E73), RGB(hex: 0xF0E442),
        RGB(hex: 0x0072B2), RGB(hex: 0xD55E00), RGB(hex: 0xCC79A7),
    ]

    static let named: [String: RGB] = [
        "liver": RGB(hex: 0xD55E00), "spleen": RGB(hex: 0xCC79A7), "kidney_left": RGB(hex: 0xF0E442),
        "kidney_right": RGB(hex: 0xE69F00), "pancreas": RGB(hex: 0x56B4E9), "stomach": RGB(hex: 0x009E73),
        "vertebrae": RGB(hex: 0xF0E442), "ribs": RGB(hex: 0x56B4E9), "hip": RGB(hex: 0xE69F00),
        "hepatic_artery": RGB(hex: 0xD55E00), "aorta": RGB(hex: 0xCC79A7), "portal_vein": RGB(hex: 0x0072B2),
        "foreground": RGB(hex: 0xF0E442),
    ]

    /// The colour of a label name (case-insensitive).
    public static func color(for name: String) -> RGB {
        let key = name.lowercased()
        if let c = named[key] { return c }
        var h: UInt32 = 2_166_136_261   // FNV-1a: the same name, the same colour, on every run
        for b in key.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        return okabeIto[Int(h % UInt32(okabeIto.count))]
    }

    /// Foreground clicks and background clicks: blue and vermillion, told apart by shape as well.
    public static let foregroundClick = RGB(hex: 0x56B4E9)
    public static let backgroundClick = RGB(hex: 0xD55E00)
}
