import Foundation
import LumenIO
import LumenTensor

/// Synthetic contrast-enhanced abdominal CT with its label map.
///
/// Honest data for training and demos, since no patient data may be used here:
/// the anatomy is random per case but plausible, the intensities are CT Hounsfield
/// units of the portal venous phase, and the headers vary between RAS and LPS.
public struct Phantom: Sendable {
    public enum Size: String, Sendable, CaseIterable {
        /// 0.6–1.0 mm in-plane, 1–5 mm slices, about 350 mm field of view.
        case full
        /// 2 mm in-plane, 2.5 mm slices, for tests and CPU training.
        case small
        /// 1 mm in-plane, 1.25 mm slices: thin-slice CT, where 1–4 mm arteries are several voxels across.
        case medium
    }

    public var image: Volume
    public var label: Volume
    /// `PhantomTissue` values on the image's grid: what every voxel is made of, for SynthSeg-style training.
    /// Only made when asked for (`withTissue`): it is another full-size volume, and the server's candidate
    /// checks, the demo and the tests never read it.
    public var tissue: Volume?
    public var spacing: [Double]
    public var orientation: String

    public static var labelNames: [UInt8: String] {
        Dictionary(uniqueKeysWithValues: PhantomLabel.allCases.map { ($0.rawValue, $0.name) })
    }

    public static func generate(seed: UInt64, index: Int, size: Size = .full, scan: ScanProtocol = .portalVenous,
                                bone: BoneDensity = .typical, withTissue: Bool = false, pool: ComputePool = .shared) throws -> Phantom {
        var r = PhantomRandom.forCase(seed: seed, index: index)
        var anatomy = Anatomy(&r)
        if scan != .portalVenous {
            var stream = PhantomRandom.forCase(seed: seed ^ 0x5CA9, index: index)
            anatomy.hu = scan.intensities(anatomy.hu, &stream)
        }
        if bone != .typical {
            var stream = PhantomRandom.forCase(seed: seed ^ 0xB0E5, index: index)
            anatomy.hu = bone.intensities(anatomy.hu, &stream)
        }
        // Only full draws its spacing, so small and medium keep their seeds' anatomy and noise.
        let (inPlane, slice): (Double, Double)
        switch size {
        case .full:
            inPlane = r.uniform(0.6, 1.0)
            slice = [1.0, 1.25, 2.0, 2.5, 3.0, 5.0][Int(r.uniform(0, 6))]
        case .small: (inPlane, slice) = (2.0, 2.5)
        case .medium: (inPlane, slice) = (1.0, 1.25)
        }
        let fov = size == .full ? 350.0 : 320.0
        let zLength = size == .full ? r.uniform(200, 300) : 240
        let ni = min(512, Int((fov / inPlane).rounded())), nj = ni
        let nk = Int((zLength / slice).rounded())
        let zCenter = r.uniform(-40, 5)
        let lps = index % 2 == 1
        let flip = lps ? -1.0 : 1.0
        let affine: [[Double]] = [
            [flip * inPlane, 0, 0, -flip * inPlane * Double(ni - 1) / 2],
            [0, flip * inPlane, 0, -flip * inPlane * Double(nj - 1) / 2],
            [0, 0, slice, zCenter - slice * Double(nk - 1) / 2],
            [0, 0, 0, 1],
        ]
        var hu = [Float](repeating: 0, count: ni * nj * nk)
        var labels = [Float](repeating: 0, count: ni * nj * nk)
        var tissues = [Float](repeating: 0, count: withTissue ? ni * nj * nk : 0)
        hu.withUnsafeMutableBufferPointer { hb in
        labels.withUnsafeMutableBufferPointer { lb in
        tissues.withUnsafeMutableBufferPointer { tb in
            let h = hb.baseAddress!, l = lb.baseAddress!, t = withTissue ? tb.baseAddress : nil   // an empty array may still have one
            pool.parallelFor(ni) { i in
                for j in 0..<nj { for k in 0..<nk {
                    let w = Point(x: affine[0][0] * Double(i) + affine[0][3], y: affine[1][1] * Double(j) + affine[1][3],
                                  z: affine[2][2] * Double(k) + affine[2][3])
                    let (label, value, tissue) = anatomy.sample(w)
                    let index = (i * nj + j) * nk + k
                    h[index] = Float(value); l[index] = Float(label); t?[index] = Float(tissue.rawValue)
                } }
            }
        }}}
        let ct = blurAndNoise(hu, ni: ni, nj: nj, nk: nk, seed: seed &+ UInt64(index) &* 7919, pool: pool)
        let image = try Volume.make(tensor: Tensor(shape: [1, ni, nj, nk], data: ct), affine: affine)
        let label = try image.replacing(tensor: Tensor(shape: [1, ni, nj, nk], data: labels))
        let tissue = withTissue ? try image.replacing(tensor: Tensor(shape: [1, ni, nj, nk], data: tissues)) : nil
        return Phantom(image: image, label: label, tissue: tissue, spacing: [inPlane, inPlane, slice], orientation: lps ? "LPS" : "RAS")
    }

    /// In-plane partial-volume blur, then CT-like noise (σ ≈ 12 HU) from a
    /// counter-based generator so the result does not depend on thread timing.
    static func blurAndNoise(_ hu: [Float], ni: Int, nj: Int, nk: Int, seed: UInt64, pool: ComputePool) -> [Float] {
        var out = [Float](repeating: 0, count: hu.count)
        hu.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            let s = src.baseAddress!, d = dst.baseAddress!
            pool.parallelFor(ni) { i in
                for j in 0..<nj { for k in 0..<nk {
                    var sum: Float = 0, n: Float = 0
                    for di in -1...1 { for dj in -1...1 {
                        let a = i + di, b = j + dj
                        if a >= 0 && a < ni && b >= 0 && b < nj { sum += s[(a * nj + b) * nk + k]; n += 1 }
                    } }
                    let index = (i * nj + j) * nk + k
                    var g = PhantomRandom(seed: seed ^ UInt64(index) &* 0x2545_F491_4F6C_DD1D)
                    let value = 0.5 * s[index] + 0.5 * sum / n + Float(12 * g.normal())
                    d[index] = max(-1024, min(3071, value.rounded()))
                } }
            }
        }}
        return out
    }
}

/// Writes `imageNN.nii.gz` / `labelNN.nii.gz` pairs, each with its `tissueNN.nii.gz`, and a Decathlon-style
/// `dataset.json` (MONAI's loaders ignore the extra `tissue` key).
public enum PhantomDataset {
    public struct Case: Sendable {
        public var image: String, label: String, tissue: String
        public var orientation: String
        public var spacing: [Double]
    }

    public static func write(to directory: URL, count: Int, seed: UInt64, size: Phantom.Size = .full,
                             scan: ScanProtocol = .portalVenous, bone: BoneDensity = .typical,
                             progress: (Int, Case) -> Void = { _, _ in }) throws -> [Case] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var cases: [Case] = []
        for index in 0..<count {
            let phantom = try Phantom.generate(seed: seed, index: index, size: size, scan: scan, bone: bone, withTissue: true)
            let name = String(format: "%02d", index)
            try phantom.image.write(to: directory.appendingPathComponent("image\(name).nii.gz"), datatype: .int16)
            try phantom.label.write(to: directory.appendingPathComponent("label\(name).nii.gz"), datatype: .uint8)
            try phantom.tissue?.write(to: directory.appendingPathComponent("tissue\(name).nii.gz"), datatype: .uint8)
            let c = Case(image: "image\(name).nii.gz", label: "label\(name).nii.gz", tissue: "tissue\(name).nii.gz", orientation: phantom.orientation, spacing: phantom.spacing)
            cases.append(c)
            progress(index, c)
        }
        var labels = ["0": "background"]
        for (value, name) in Phantom.labelNames { labels[String(value)] = name }
        let tissues = Dictionary(uniqueKeysWithValues: PhantomTissue.allCases.map { (String($0.rawValue), $0.name) })
        let json: [String: Any] = [
            "name": "Lumen synthetic abdominal CT phantoms",
            "description": "Synthetic abdominal CT (\(scan.rawValue), \(bone.rawValue) bone) made by `lumen phantom --seed \(seed) --protocol \(scan.rawValue) --bone-density \(bone.rawValue)`; no patient data.",
            "modality": ["0": "CT"], "labels": labels, "tissues": tissues, "numTraining": count, "seed": seed, "size": size.rawValue,
            "protocol": scan.rawValue, "bone_density": bone.rawValue,
            "training": cases.map { ["image": "./\($0.image)", "label": "./\($0.label)", "tissue": "./\($0.tissue)"] },
        ]
        let data = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(data, to: directory.appendingPathComponent("dataset.json"))
        return cases
    }
}
