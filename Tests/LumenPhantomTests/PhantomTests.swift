import Foundation
import LumenIO
import Testing
@testable import LumenPhantom

@Suite("Phantom")
struct PhantomTests {
    @Test("the same seed gives the same volume; another seed does not")
    func deterministic() throws {
        let a = try Phantom.generate(seed: 5, index: 0, size: .small)
        let b = try Phantom.generate(seed: 5, index: 0, size: .small)
        let c = try Phantom.generate(seed: 6, index: 0, size: .small)
        #expect(a.image.tensor == b.image.tensor)
        #expect(a.label.tensor == b.label.tensor)
        #expect(a.image.tensor != c.image.tensor)
    }

    /// World centroid of a label, in RAS mm.
    private func centroid(_ p: Phantom, _ label: PhantomLabel) -> (x: Double, count: Int) {
        let s = p.label.spatialShape
        let a = p.label.geometry.affine
        var sum = 0.0, n = 0
        for i in 0..<s[0] { for j in 0..<s[1] { for k in 0..<s[2] where p.label.tensor.data[(i * s[1] + j) * s[2] + k] == Float(label.rawValue) {
            sum += a[0][0] * Double(i) + a[0][1] * Double(j) + a[0][2] * Double(k) + a[0][3]; n += 1
        } } }
        return (sum / Double(max(n, 1)), n)
    }

    @Test("organs sit on the anatomical side in both RAS and LPS headers", arguments: [0, 1])
    func sides(index: Int) throws {
        let p = try Phantom.generate(seed: 11, index: index, size: .small)
        #expect(p.image.geometry.orientation == (index == 0 ? "RAS" : "LPS"))
        // RAS+: +x is the patient's right.
        #expect(centroid(p, .liver).x > 20)
        #expect(centroid(p, .spleen).x < -20)
        #expect(centroid(p, .kidneyLeft).x < -20)
        #expect(centroid(p, .kidneyRight).x > 20)
    }

    @Test("every label is present with a plausible size and intensity")
    func labels() throws {
        let p = try Phantom.generate(seed: 3, index: 0, size: .small)
        let voxel = p.spacing.reduce(1, *) / 1000   // millilitres
        var counts = [Int](repeating: 0, count: 13)
        var liverHU: [Float] = [], boneHU: [Float] = []
        for (v, l) in zip(p.image.tensor.data, p.label.tensor.data) {
            counts[Int(l)] += 1
            if l == 1 { liverHU.append(v) }
            if l == 9 { boneHU.append(v) }
        }
        for label in PhantomLabel.allCases { #expect(counts[Int(label.rawValue)] > 0, "\(label.name) missing") }
        let liverML = Double(counts[1]) * voxel
        #expect(liverML > 900 && liverML < 2600, "liver \(liverML) mL")
        let liverMedian = liverHU.sorted()[liverHU.count / 2]
        #expect(liverMedian > 90 && liverMedian < 135)
        #expect(boneHU.sorted()[boneHU.count / 2] > 180)
        let arteryML = Double(counts[12]) * voxel
        #expect(arteryML > 0.1 && arteryML < 15, "hepatic artery \(arteryML) mL")
    }

    @Test("the dataset is written with Decathlon-style metadata")
    func dataset() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-phantom-\(UUID().uuidString.prefix(8))")
        let cases = try PhantomDataset.write(to: dir, count: 2, seed: 9, size: .small)
        #expect(cases.map(\.image) == ["image00.nii.gz", "image01.nii.gz"])
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("dataset.json"))) as! [String: Any]
        let labels = json["labels"] as! [String: String]
        #expect(labels["1"] == "liver" && labels["12"] == "hepatic_artery" && labels["0"] == "background")
        #expect((json["training"] as! [[String: String]]).first?["label"] == "./label00.nii.gz")
        let image = try Volume.read(dir.appendingPathComponent("image01.nii.gz"))
        let label = try Volume.read(dir.appendingPathComponent("label01.nii.gz"))
        #expect(image.storedDatatype == .int16 && label.storedDatatype == .uint8)
        #expect(image.geometry == label.geometry)
        let tissue = try Volume.read(dir.appendingPathComponent("tissue01.nii.gz"))
        #expect(tissue.storedDatatype == .uint8 && tissue.geometry == label.geometry)
        #expect((json["training"] as! [[String: String]]).first?["tissue"] == "./tissue00.nii.gz")
        #expect((json["tissues"] as! [String: String])["5"] == "renal_cortex")
    }

    /// The tissue map refines the label map (a trainer redraws each tissue's HU from it) and is the
    /// anatomy's, not the protocol's.
    @Test func tissueMapRefinesTheLabelsAndIgnoresTheProtocol() throws {
        let pv = try Phantom.generate(seed: 61_000, index: 1, size: .small, withTissue: true)
        let nc = try Phantom.generate(seed: 61_000, index: 1, size: .small, scan: .nonContrast, withTissue: true)
        let pvTissue = try #require(pv.tissue), ncTissue = try #require(nc.tissue)
        #expect(pvTissue.tensor.data == ncTissue.tensor.data)
        #expect(try Phantom.generate(seed: 61_000, index: 1, size: .small).tissue == nil)
        let expected: [PhantomTissue: Set<Float>] = [
            .liver: [1], .spleen: [2], .renalCortex: [3, 4], .renalMedulla: [3, 4], .pancreas: [5],
            .stomachWall: [6], .stomachContent: [6], .portalBlood: [8], .hepaticArtery: [12],
            .cancellousBone: [9, 10, 11], .fat: [0], .muscle: [0], .lung: [0], .air: [0],
        ]
        var seen = Set<UInt8>()
        for (t, l) in zip(pvTissue.tensor.data, pv.label.tensor.data) {
            let tissue = try #require(PhantomTissue(rawValue: UInt8(t)))
            seen.insert(tissue.rawValue)
            if let labels = expected[tissue] { #expect(labels.contains(l), "\(tissue.name) under label \(l)") }
        }
        #expect(seen.count >= 18, "only \(seen.count) tissues drawn")
        func mean(_ tissue: PhantomTissue) -> Double {
            let values = zip(pv.image.tensor.data, pvTissue.tensor.data).filter { $0.1 == Float(tissue.rawValue) }.map { Double($0.0) }
            return values.reduce(0, +) / Double(max(values.count, 1))
        }
        #expect(mean(.fat) < -60 && mean(.muscle) > 30 && mean(.renalCortex) > mean(.renalMedulla))
    }

    /// The "second hospital": the same anatomy unenhanced, so a model trained on
    /// portal-venous scans meets other grey values, not other shapes.
    @Test func nonContrastKeepsTheAnatomyAndChangesTheGreyValues() throws {
        let pv = try Phantom.generate(seed: 61_000, index: 0, size: .small)
        let nc = try Phantom.generate(seed: 61_000, index: 0, size: .small, scan: .nonContrast)
        #expect(pv.label.tensor.data == nc.label.tensor.data)
        func mean(_ p: Phantom, label: Float) -> Double {
            let values = zip(p.image.tensor.data, p.label.tensor.data).filter { $0.1 == label }.map { Double($0.0) }
            return values.reduce(0, +) / Double(max(values.count, 1))
        }
        #expect(mean(pv, label: 1) > 95 && mean(nc, label: 1) < 70, "liver: \(mean(pv, label: 1)) HU enhanced, \(mean(nc, label: 1)) HU unenhanced")
        #expect(mean(nc, label: 7) < 55, "unenhanced aorta \(mean(nc, label: 7)) HU")
    }

    /// Every phase keeps the anatomy; each moves blood and organs the way its phase does.
    @Test("protocols: same anatomy, the phase's grey values", arguments: [ScanProtocol.arterial, .delayed])
    func phases(scan: ScanProtocol) throws {
        let pv = try Phantom.generate(seed: 61_000, index: 0, size: .small)
        let other = try Phantom.generate(seed: 61_000, index: 0, size: .small, scan: scan)
        #expect(pv.label.tensor.data == other.label.tensor.data)
        func mean(_ p: Phantom, label: Float) -> Double {
            let values = zip(p.image.tensor.data, p.label.tensor.data).filter { $0.1 == label }.map { Double($0.0) }
            return values.reduce(0, +) / Double(max(values.count, 1))
        }
        switch scan {
        case .arterial:
            #expect(mean(other, label: 7) > 220, "arterial aorta \(mean(other, label: 7)) HU")
            #expect(mean(other, label: 1) < mean(pv, label: 1), "the liver enhances later than the arterial phase")
        default:
            // Blood at 100-130 HU, less at the 2 mm grid's blurred edges.
            #expect((75...135).contains(mean(other, label: 7)), "delayed aorta \(mean(other, label: 7)) HU")
        }
    }

    @Test func portalVenousSeedsAreUnchangedByTheOtherProtocols() throws {
        // The protocols draw from their own stream: portal-venous images are what they always were.
        let a = try Phantom.generate(seed: 61_000, index: 1, size: .small)
        let b = try Phantom.generate(seed: 61_000, index: 1, size: .small, scan: .portalVenous)
        #expect(a.image.tensor.data == b.image.tensor.data)
    }
}
