/// Label values of the phantom, with TotalSegmentator's names.
public enum PhantomLabel: UInt8, CaseIterable, Sendable {
    case liver = 1, spleen, kidneyLeft, kidneyRight, pancreas, stomach, aorta, portalVeinAndSplenicVein
    case vertebrae, ribs, hip, hepaticArtery

    public var name: String {
        switch self {
        case .liver: "liver"
        case .spleen: "spleen"
        case .kidneyLeft: "kidney_left"
        case .kidneyRight: "kidney_right"
        case .pancreas: "pancreas"
        case .stomach: "stomach"
        case .aorta: "aorta"
        case .portalVeinAndSplenicVein: "portal_vein_and_splenic_vein"
        case .vertebrae: "vertebrae"
        case .ribs: "ribs"
        case .hip: "hip"
        case .hepaticArtery: "hepatic_artery"
        }
    }
}

/// One random abdomen, contrast-enhanced in the portal venous phase. Organs are
/// lumpy ellipsoids and vessels tubes, placed with anatomical sides in RAS+
/// (the liver on the patient's right, +x), then posed, scaled and deformed.
/// Tissue intensities of one case (HU), varied a little between cases.
struct Intensities: Sendable {
    var fat, muscle, liver, spleen, cortex, medulla, aorta, portal, artery, pancreas: Double
    var stomachWall, stomachContent, cortical, cancellous, disc, lung, csf, ivc: Double
}

struct Anatomy: Sendable {
    let body: Blob
    let liver: Blob, spleen: Blob, kidneys: [(Blob, PhantomLabel)], stomach: Blob, pancreasHead: Blob
    let pancreasTail: Tube
    let lungs: [Blob]
    let aorta: Tube, ivc: Tube, iliacs: [Tube], otherArteries: [Tube]
    let portal: [Tube]
    let hepaticTree: [Tube]
    let hepaticBox: (Point, Point)
    let vertebraCenter: Point
    let vertebraPeriod: Double, vertebraPhase: Double
    let posteriorElements: [Tube]
    let ribs: [Tube]
    let ribBox: (Point, Point)
    let bowelBox: (Point, Point)
    let pelvis: [Blob]
    let bowel: [(Blob, Double)]
    let muscles: [Blob]
    var hu: Intensities
    let vessels: [Tube]
    // Pose: rotation about z, scale, shift, and a smooth displacement field.
    let angle: Double, scale: Double, shift: Point
    let waves: [(Point, Double, Point)]   // (wave vector, phase, amplitude vector)

    init(_ r: inout PhantomRandom) {
        func jitter(_ v: Double, _ f: Double) -> Double { v * (1 + f * r.uniform(-1, 1)) }
        func bumps() -> SIMD3<Double> { SIMD3(r.uniform(-0.08, 0.08), r.uniform(-0.08, 0.08), r.uniform(-0.08, 0.08)) }
        let s = r.uniform(0.9, 1.1)
        body = Blob(center: Point(x: 0, y: 0, z: 0), radii: Point(x: jitter(155, 0.08), y: jitter(110, 0.08), z: 1e6), bumps: .zero)
        liver = Blob(center: Point(x: jitter(72, 0.1), y: jitter(8, 0.5), z: jitter(50, 0.15)),
                     radii: Point(x: jitter(82, 0.1), y: jitter(88, 0.1), z: jitter(68, 0.1)), bumps: bumps())
        spleen = Blob(center: Point(x: -jitter(88, 0.08), y: -jitter(42, 0.15), z: jitter(52, 0.15)),
                      radii: Point(x: jitter(30, 0.15), y: jitter(48, 0.15), z: jitter(55, 0.15)), bumps: bumps())
        let kz = r.uniform(-10, 10)
        kidneys = [
            (Blob(center: Point(x: -jitter(66, 0.06), y: -jitter(52, 0.08), z: kz + 8),
                  radii: Point(x: jitter(27, 0.1), y: jitter(24, 0.1), z: jitter(55, 0.1)), bumps: bumps()), .kidneyLeft),
            (Blob(center: Point(x: jitter(66, 0.06), y: -jitter(52, 0.08), z: kz - 12),
                  radii: Point(x: jitter(27, 0.1), y: jitter(24, 0.1), z: jitter(55, 0.1)), bumps: bumps()), .kidneyRight),
        ]
        stomach = Blob(center: Point(x: -jitter(42, 0.15), y: jitter(38, 0.15), z: jitter(62, 0.15)),
                       radii: Point(x: jitter(42, 0.15), y: jitter(32, 0.15), z: jitter(48, 0.15)), bumps: bumps())
        pancreasHead = Blob(center: Point(x: jitter(28, 0.2), y: r.uniform(-6, 4), z: jitter(12, 0.4)),
                            radii: Point(x: jitter(18, 0.15), y: jitter(15, 0.15), z: jitter(20, 0.15)), bumps: bumps())
        pancreasTail = Tube(a: Point(x: -62, y: -24, z: r.uniform(22, 34)), b: pancreasHead.center,
                            radiusA: r.uniform(9, 12), radiusB: r.uniform(11, 14))
        lungs = [Blob(center: Point(x: 72, y: -15, z: 175), radii: Point(x: 65, y: 75, z: 85), bumps: .zero),
                 Blob(center: Point(x: -72, y: -15, z: 178), radii: Point(x: 62, y: 75, z: 85), bumps: .zero)]
        let aortaXY = Point(x: -jitter(14, 0.3), y: -jitter(36, 0.1), z: 0)
        let bifurcation = r.uniform(-125, -100)
        aorta = Tube(a: Point(x: aortaXY.x, y: aortaXY.y, z: bifurcation), b: Point(x: aortaXY.x, y: aortaXY.y, z: 400),
                     radiusA: r.uniform(9, 10), radiusB: r.uniform(11, 13))
        ivc = Tube(a: Point(x: 22, y: -30, z: -400), b: Point(x: 22, y: -28, z: 400), radiusA: 10, radiusB: 11)
        iliacs = [-1.0, 1.0].map { side in
            Tube(a: Point(x: aortaXY.x, y: aortaXY.y, z: bifurcation),
                 b: Point(x: side * 50, y: -45, z: bifurcation - 120), radiusA: 7, radiusB: 5.5)
        }
        // Celiac trunk off the anterior aorta, splenic artery to the left.
        let celiacZ = liver.center.z - r.uniform(5, 15)
        let celiacOrigin = Point(x: aortaXY.x, y: aortaXY.y + 10, z: celiacZ)
        let celiacEnd = Point(x: aortaXY.x + r.uniform(-3, 3), y: aortaXY.y + 26, z: celiacZ + r.uniform(0, 6))
        otherArteries = [
            Tube(a: celiacOrigin, b: celiacEnd, radiusA: 3.2, radiusB: 3.0),
            Tube(a: celiacEnd, b: Point(x: spleen.center.x + 20, y: spleen.center.y + 18, z: spleen.center.z - 5), radiusA: 2.2, radiusB: 1.8),
        ]
        // Splenic vein behind the pancreas to the confluence, portal vein up into the liver.
        let confluence = Point(x: r.uniform(5, 15), y: r.uniform(-18, -10), z: pancreasHead.center.z + 10)
        let portalEnd = Point(x: liver.center.x - 20, y: liver.center.y - 5, z: liver.center.z)
        portal = [
            Tube(a: Point(x: spleen.center.x + 22, y: spleen.center.y + 12, z: spleen.center.z - 10), b: confluence, radiusA: 4.5, radiusB: 5.5),
            Tube(a: confluence, b: portalEnd, radiusA: 7, radiusB: 6),
            Tube(a: portalEnd, b: portalEnd + Point(x: 25, y: 15, z: 20), radiusA: 5, radiusB: 3),
            Tube(a: portalEnd, b: portalEnd + Point(x: 20, y: -20, z: -15), radiusA: 5, radiusB: 3),
        ]
        // Hepatic artery tree: common hepatic (≈ 4 mm), proper hepatic, then branches into the liver down to ≈ 1 mm.
        let hilum = Point(x: liver.center.x - 38, y: liver.center.y - 12, z: liver.center.z - 8)
        var tree = [Tube(a: celiacEnd, b: Point(x: hilum.x - 15, y: celiacEnd.y, z: celiacEnd.z), radiusA: 2.0, radiusB: 1.9),
                    Tube(a: Point(x: hilum.x - 15, y: celiacEnd.y, z: celiacEnd.z), b: hilum, radiusA: 1.9, radiusB: 1.7)]
        var tips: [(Point, Point, Double)] = [(hilum, Point(x: 1, y: 0.2, z: 0.3), 1.7)]
        for _ in 0..<4 {
            var next: [(Point, Point, Double)] = []
            for (start, direction, radius) in tips {
                for _ in 0..<2 {
                    var d = direction + Point(x: r.uniform(-0.7, 0.7), y: r.uniform(-0.7, 0.7), z: r.uniform(-0.7, 0.7))
                    d = d * (1 / max(d.length, 1e-6))
                    let end = start + d * r.uniform(22, 36)
                    let child = max(0.5, radius * 0.78)
                    tree.append(Tube(a: start, b: end, radiusA: radius, radiusB: child))
                    next.append((end, d, child))
                }
            }
            tips = next
        }
        hepaticTree = tree
        var lo = tree[0].box.0, hi = tree[0].box.1
        for t in tree { let b = t.box
            lo = Point(x: min(lo.x, b.0.x), y: min(lo.y, b.0.y), z: min(lo.z, b.0.z))
            hi = Point(x: max(hi.x, b.1.x), y: max(hi.y, b.1.y), z: max(hi.z, b.1.z)) }
        hepaticBox = (lo, hi)
        vertebraCenter = Point(x: 0, y: -jitter(68, 0.06), z: 0)
        vertebraPeriod = r.uniform(30, 34)
        vertebraPhase = r.uniform(0, 30)
        let vc = vertebraCenter
        posteriorElements = [
            Tube(a: Point(x: 0, y: vc.y - 30, z: 0), b: Point(x: 0, y: vc.y - 55, z: -8), radiusA: 5, radiusB: 4),
            Tube(a: Point(x: -10, y: vc.y - 24, z: 0), b: Point(x: -42, y: vc.y - 22, z: 0), radiusA: 5, radiusB: 4),
            Tube(a: Point(x: 10, y: vc.y - 24, z: 0), b: Point(x: 42, y: vc.y - 22, z: 0), radiusA: 5, radiusB: 4),
            Tube(a: Point(x: -12, y: vc.y - 16, z: 0), b: Point(x: 0, y: vc.y - 32, z: 0), radiusA: 4, radiusB: 4),
            Tube(a: Point(x: 12, y: vc.y - 16, z: 0), b: Point(x: 0, y: vc.y - 32, z: 0), radiusA: 4, radiusB: 4),
        ]
        // Ribs: curved bars along the inner body wall, sloping down anteriorly, from the spine around the flank.
        var ribs: [Tube] = []
        let ribTop = r.uniform(150, 170)
        for level in 0..<6 {
            let z0 = ribTop - Double(level) * r.uniform(24, 30)
            for side in [-1.0, 1.0] {
                var previous: Point?
                for step in 0...9 {
                    let theta = -Double.pi / 2 + Double(step) / 9 * Double.pi * 0.78
                    let p = Point(x: side * (body.radii.x - 24) * cos(theta) * 0.95,
                                  y: (body.radii.y - 18) * sin(theta), z: z0 - Double(step) * 4.5)
                    if let q = previous { ribs.append(Tube(a: q, b: p, radiusA: 5.5, radiusB: 5.5)) }
                    previous = p
                }
            }
        }
        self.ribs = ribs
        ribBox = Anatomy.union(ribs.map(\.box))
        let pelvisZ = bifurcation - r.uniform(35, 50)
        pelvis = [-1.0, 1.0].map { side in
            Blob(center: Point(x: side * jitter(62, 0.08), y: -jitter(32, 0.1), z: pelvisZ - 45),
                 radii: Point(x: 48, y: 58, z: 60), bumps: .zero)
        }
        bowel = (0..<18).map { _ in
            (Blob(center: Point(x: r.uniform(-90, 90), y: r.uniform(-10, 70), z: r.uniform(-170, 10)),
                  radii: Point(x: r.uniform(12, 24), y: r.uniform(12, 22), z: r.uniform(12, 26)), bumps: bumps()),
             r.uniform() < 0.35 ? r.uniform(-1000, -900) : r.uniform(10, 45))
        }
        bowelBox = Anatomy.union(bowel.map { $0.0.box })
        muscles = [
            Blob(center: Point(x: -38, y: vc.y - 28, z: 0), radii: Point(x: 26, y: 22, z: 1e6), bumps: .zero),
            Blob(center: Point(x: 38, y: vc.y - 28, z: 0), radii: Point(x: 26, y: 22, z: 1e6), bumps: .zero),
            Blob(center: Point(x: -34, y: vc.y + 8, z: -120), radii: Point(x: 17, y: 15, z: 120), bumps: .zero),
            Blob(center: Point(x: 34, y: vc.y + 8, z: -120), radii: Point(x: 17, y: 15, z: 120), bumps: .zero),
        ]
        hu = Intensities(fat: r.uniform(-110, -90), muscle: r.uniform(45, 60), liver: r.uniform(100, 125), spleen: r.uniform(110, 130),
              cortex: r.uniform(150, 180), medulla: r.uniform(95, 120), aorta: r.uniform(140, 170), portal: r.uniform(160, 190),
              artery: r.uniform(170, 200), pancreas: r.uniform(90, 110), stomachWall: r.uniform(60, 80),
              stomachContent: r.uniform(5, 25), cortical: r.uniform(850, 1150), cancellous: r.uniform(200, 300),
              disc: r.uniform(70, 90), lung: r.uniform(-870, -820), csf: r.uniform(5, 15), ivc: r.uniform(120, 140))
        vessels = otherArteries + iliacs
        angle = r.uniform(-0.17, 0.17)
        scale = s
        shift = Point(x: r.uniform(-15, 15), y: r.uniform(-10, 10), z: r.uniform(-20, 20))
        waves = (0..<3).map { _ in
            (Point(x: r.uniform(-1, 1), y: r.uniform(-1, 1), z: r.uniform(-1, 1)) * (2 * .pi / r.uniform(120, 220)),
             r.uniform(0, 2 * .pi), Point(x: r.normal(), y: r.normal(), z: r.normal()) * 2.5)
        }
    }

    static func union(_ boxes: [(Point, Point)]) -> (Point, Point) {
        var lo = boxes[0].0, hi = boxes[0].1
        for b in boxes {
            lo = Point(x: min(lo.x, b.0.x), y: min(lo.y, b.0.y), z: min(lo.z, b.0.z))
            hi = Point(x: max(hi.x, b.1.x), y: max(hi.y, b.1.y), z: max(hi.z, b.1.z))
        }
        return (lo, hi)
    }

    /// World (scanner, RAS mm) to the patient's own frame: undo pose, add the deformation.
    @inline(__always)
    func patient(_ w: Point) -> Point {
        let p = w - shift
        let c = cos(-angle), s = sin(-angle)
        var q = Point(x: (c * p.x - s * p.y) / scale, y: (s * p.x + c * p.y) / scale, z: p.z / scale)
        for (k, phase, amplitude) in waves { q = q + amplitude * sin(k.dot(q) + phase) }
        return q
    }

    /// Label, HU and tissue at a world point.
    func sample(_ w: Point) -> (UInt8, Double, PhantomTissue) {
        let p = patient(w)
        let bodyLevel = ((p.x / body.radii.x) * (p.x / body.radii.x) + (p.y / body.radii.y) * (p.y / body.radii.y)).squareRoot()
        if bodyLevel >= 1 { return (0, -1000, .air) }
        if let bone = bones(p) { return bone }
        if inside(p, hepaticBox) {
            for t in hepaticTree where inside(p, t.box) && t.contains(p) { return (PhantomLabel.hepaticArtery.rawValue, hu.artery, .hepaticArtery) }
        }
        for t in portal where inside(p, t.box) && t.contains(p) { return (PhantomLabel.portalVeinAndSplenicVein.rawValue, hu.portal, .portalBlood) }
        if aorta.contains(p) { return (PhantomLabel.aorta.rawValue, hu.aorta, .arterialBlood) }
        for t in vessels where inside(p, t.box) && t.contains(p) { return (0, hu.aorta, .arterialBlood) }
        if ivc.contains(p) { return (0, hu.ivc, .venousBlood) }
        for (kidney, label) in kidneys where inside(p, kidney.box) {
            let l = kidney.level(p)
            if l < 1 { return l > 0.72 ? (label.rawValue, hu.cortex, .renalCortex) : (label.rawValue, hu.medulla, .renalMedulla) }
        }
        if inside(p, spleen.box), spleen.contains(p) { return (PhantomLabel.spleen.rawValue, hu.spleen, .spleen) }
        if (inside(p, pancreasHead.box) && pancreasHead.contains(p)) || (inside(p, pancreasTail.box) && pancreasTail.contains(p)) {
            return (PhantomLabel.pancreas.rawValue, hu.pancreas, .pancreas)
        }
        if inside(p, liver.box), liver.contains(p) { return (PhantomLabel.liver.rawValue, hu.liver, .liver) }
        if inside(p, stomach.box) {
            let l = stomach.level(p)
            if l < 1 {
                let gas = p.y > stomach.center.y + 8 && p.z > stomach.center.z && l < 0.85
                let stomachLabel = PhantomLabel.stomach.rawValue
                if l > 0.85 { return (stomachLabel, hu.stomachWall, .stomachWall) }
                return gas ? (stomachLabel, -990, .gas) : (stomachLabel, hu.stomachContent, .stomachContent)
            }
        }
        for lung in lungs where lung.contains(p) { return (0, hu.lung, .lung) }
        if inside(p, bowelBox) { for (loop, value) in bowel where inside(p, loop.box) && loop.contains(p) { return (0, value, value < -500 ? .gas : .bowelContent) } }
        for m in muscles where m.contains(p) { return (0, hu.muscle, .muscle) }
        if bodyLevel > 0.84 && bodyLevel < 0.9 { return (0, hu.muscle, .muscle) }   // abdominal wall
        return (0, hu.fat, .fat)
    }

    private func bones(_ p: Point) -> (UInt8, Double, PhantomTissue)? {
        let vc = vertebraCenter
        // Vertebral bodies (elliptic cylinders) with discs between them.
        let dx = p.x / 22, dy = (p.y - vc.y) / 18
        let radial = (dx * dx + dy * dy).squareRoot()
        if radial < 1 {
            let phase = (p.z + vertebraPhase).truncatingRemainder(dividingBy: vertebraPeriod)
            let inPeriod = phase < 0 ? phase + vertebraPeriod : phase
            if inPeriod > vertebraPeriod - 6 { return (0, hu.disc, .disc) }
            let edge = min((1 - radial) * 18, inPeriod, vertebraPeriod - 6 - inPeriod)
            return Anatomy.bone(.vertebrae, cortical: edge < 2, hu)
        }
        if abs(p.x) < 60, p.y < vc.y - 10, p.y > vc.y - 70 {
            let canal = (p.x * p.x + (p.y - vc.y - 24) * (p.y - vc.y - 24)).squareRoot()
            let phase = (p.z + vertebraPhase).truncatingRemainder(dividingBy: vertebraPeriod)
            let inPeriod = phase < 0 ? phase + vertebraPeriod : phase
            let local = Point(x: p.x, y: p.y, z: inPeriod - vertebraPeriod / 2 + 6)
            if canal < 9 { return (0, hu.csf, .csf) }
            if inPeriod < vertebraPeriod - 10 {
                for t in posteriorElements where t.contains(local) { return (PhantomLabel.vertebrae.rawValue, hu.cortical * 0.7, .corticalBone) }
            }
        }
        if inside(p, ribBox) { for rib in ribs where inside(p, rib.box) {
            let (d, r) = rib.distance(p)
            if d < r { return Anatomy.bone(.ribs, cortical: d > r - 1.5, hu) }
        } }
        for wing in pelvis where inside(p, wing.box) {
            let l = wing.level(p)
            if l < 1, l > 0.84, p.y < wing.center.y + 20, p.z < wing.center.z + 50 {
                return Anatomy.bone(.hip, cortical: l > 0.96 || l < 0.87, hu)
            }
        }
        return nil
    }

    private static func bone(_ label: PhantomLabel, cortical: Bool, _ hu: Intensities) -> (UInt8, Double, PhantomTissue) {
        cortical ? (label.rawValue, hu.cortical, .corticalBone) : (label.rawValue, hu.cancellous, .cancellousBone)
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// The contrast phase a scan was taken in. Portal-venous is every seed's default (and stays
/// reproducible); the others redraw the soft-tissue and blood values of the same anatomy from
/// the typical ranges of each phase, so a model can be scored (and trained) across protocols.
/// Ranges follow the usual enhancement curves of iodinated contrast (K. T. Bae, "Intravenous
/// contrast medium administration and scan timing at CT", Radiology 256(1), 2010) and common
/// unenhanced reference values; they are typical ranges, not one scanner's measurements.
/// Bone and fat do not take up contrast and keep their values. Non-contrast values: liver 55–65 HU
/// and spleen 40–50 HU (Kodama et al., AJR 2007; Boll & Merkle, Radiology 2009), renal
/// parenchyma 30–40 HU, blood 35–45 HU, pancreas 35–45 HU, muscle 45–55 HU.
public enum ScanProtocol: String, Sendable, CaseIterable {
    case portalVenous = "portal-venous"
    /// Unenhanced: liver 55-65 HU, spleen 40-50, kidneys 30-40, blood 35-45.
    case nonContrast = "non-contrast"
    /// Late arterial (about 35 s): arteries and aorta 250-350 HU, the renal cortex bright against
    /// its medulla, the pancreas at its peak, the liver and portal vein barely enhanced yet.
    case arterial
    /// Delayed (3-5 min): blood 100-130 HU everywhere, the kidneys homogeneous, organs washing out.
    case delayed

    func intensities(_ base: Intensities, _ r: inout PhantomRandom) -> Intensities {
        var hu = base
        switch self {
        case .portalVenous:
            return base
        case .nonContrast:
            let blood = r.uniform(35, 45)
            hu.liver = r.uniform(55, 65); hu.spleen = r.uniform(40, 50)
            hu.cortex = r.uniform(30, 40); hu.medulla = hu.cortex - r.uniform(0, 4)
            hu.aorta = blood; hu.portal = blood + r.uniform(-2, 2); hu.artery = blood + r.uniform(-2, 2); hu.ivc = blood
            hu.pancreas = r.uniform(35, 45); hu.muscle = r.uniform(45, 55); hu.stomachWall = r.uniform(35, 45)
        case .arterial:
            let arterialBlood = r.uniform(250, 350)
            hu.aorta = arterialBlood; hu.artery = arterialBlood + r.uniform(-20, 20)
            hu.portal = r.uniform(90, 140); hu.ivc = r.uniform(50, 90)
            hu.liver = r.uniform(65, 85); hu.spleen = r.uniform(100, 140)
            hu.cortex = r.uniform(180, 250); hu.medulla = r.uniform(80, 110)
            hu.pancreas = r.uniform(110, 140); hu.stomachWall = r.uniform(80, 110)
        case .delayed:
            let blood = r.uniform(100, 130)
            hu.aorta = blood; hu.artery = blood + r.uniform(-5, 5); hu.portal = blood + r.uniform(-5, 5); hu.ivc = blood
            hu.liver = r.uniform(80, 100); hu.spleen = r.uniform(85, 105)
            hu.cortex = r.uniform(130, 170); hu.medulla = hu.cortex + r.uniform(-5, 10)
            hu.pancreas = r.uniform(70, 90); hu.stomachWall = r.uniform(60, 80)
        }
        return hu
    }
}

/// Bone mineral density. Typical is every seed's default; older redraws the bone of the same
/// anatomy (from its own stream) as an osteoporotic spine would look: trabecular bone at
/// 80–160 HU (Pickhardt et al., Ann Intern Med 158(8), 2013: L1 trabecular attenuation
/// under 110 HU is highly specific for osteoporosis, over 160 HU sensitive for normal density)
/// inside a thinner, less dense cortical shell (450–800 HU). A model that has only seen dense
/// young bone learns "bone is brighter than 200 HU", which fails on the patients who get
/// most abdominal CT.
public enum BoneDensity: String, Sendable, CaseIterable {
    case typical
    case older

    func intensities(_ base: Intensities, _ r: inout PhantomRandom) -> Intensities {
        guard self == .older else { return base }
        var hu = base
        hu.cancellous = r.uniform(80, 160)
        hu.cortical = r.uniform(450, 800)
        return hu
    }
}
