import Foundation
import LumenIO
import LumenTensor
import Testing
@testable import LumenPreview

/// Previews are pictures people trust at a glance, so what they show is checked against the data:
/// outlines sit on label boundaries, sides follow the affine, and RAS and LPS files of one scan
/// give the same picture.
@Suite("Previews")
struct PreviewTests {
    /// A 40 × 36 × 24 scan at 1 × 1.5 × 2.5 mm (RAS): soft tissue, a box-shaped "liver" on the
    /// patient's right, and a small "spleen" at the left, anterior and superior corner.
    static func scan(lps: Bool = false) throws -> (ct: Volume, labels: Volume) {
        let dims = [40, 36, 24]
        var ct = Tensor(zeros: [1] + dims), labels = Tensor(zeros: [1] + dims)
        for i in 0..<dims[0] { for j in 0..<dims[1] { for k in 0..<dims[2] {
            let n = (i * dims[1] + j) * dims[2] + k
            ct.data[n] = 40
            // RAS: i grows toward the patient's left, j toward anterior, k toward superior.
            if (4..<16).contains(i) && (8..<28).contains(j) && (6..<18).contains(k) { labels.data[n] = 1; ct.data[n] = 110 }
            if (30..<36).contains(i) && (26..<32).contains(j) && (16..<21).contains(k) { labels.data[n] = 2; ct.data[n] = 120 }
        } } }
        var affine: [[Double]] = [[-1, 0, 0, 20], [0, 1.5, 0, -27], [0, 0, 2.5, -30], [0, 0, 0, 1]]
        if lps {   // the same voxels stored with i and j reversed: an LPS file of the same scan
            func flipped(_ t: Tensor) -> Tensor {
                var out = t
                for i in 0..<dims[0] { for j in 0..<dims[1] { for k in 0..<dims[2] {
                    out.data[(i * dims[1] + j) * dims[2] + k] = t.data[((dims[0] - 1 - i) * dims[1] + (dims[1] - 1 - j)) * dims[2] + k]
                } } }
                return out
            }
            ct = flipped(ct); labels = flipped(labels)
            // voxel (i', j') = (39 - i, 35 - j): world = A · (39 - i', 35 - j', k)
            affine = [[1, 0, 0, 20 - 39], [0, -1.5, 0, -27 + 1.5 * 35], [0, 0, 2.5, -30], [0, 0, 0, 1]]
        }
        return (try Volume.make(tensor: ct, affine: affine), try Volume.make(tensor: labels, affine: affine))
    }

    @Test("the picture's size, PNG and legend")
    func size() throws {
        let (ct, labels) = try Self.scan()
        let r = try Preview.render(ct: ct, labels: labels, names: ["liver", "spleen"], title: "TEST")
        let (w, h) = try PNGImage.size(of: r.png)
        #expect(w == r.canvas.width && h == r.canvas.height)
        #expect(r.panels.map(\.name) == ["AXIAL", "CORONAL", "SAGITTAL"])
        #expect(r.panels.allSatisfy { $0.width <= Preview.maxPanel && $0.height <= Preview.maxPanel })
        // Proportions follow millimetres: axial is 40 mm (R-L) by 54 mm (A-P) of a 60 mm-tall scan.
        let axial = r.panels[0]
        #expect(abs(Double(axial.width) / Double(axial.height) - 39.0 / 52.5) < 0.05)
        #expect(r.png.count < 200_000)
    }

    @Test("outline pixels sit on label boundaries, in the label's colour")
    func outlines() throws {
        let (ct, labels) = try Self.scan()
        let names = ["liver", "spleen"]
        let r = try Preview.render(ct: ct, labels: labels, names: names)
        var outlined = 0
        for p in r.panels {
            for v in 0..<p.height { for u in 0..<p.width {
                let colour = r.canvas[p.x + u, p.y + v]
                let l = p.labels[v * p.width + u]
                let edge = l > 0 && Preview.isEdge(p.labels, p.width, p.height, u, v)
                if edge {
                    outlined += 1
                    #expect(colour == Palette.color(for: names[l - 1]), "\(p.name) (\(u), \(v))")
                } else if !colour.isGrey {
                    // Only the side letters (white) are drawn over panels besides outlines.
                    Issue.record("\(p.name) (\(u), \(v)) is coloured \(colour) but is no label boundary")
                }
            } }
        }
        #expect(outlined > 100)
    }

    @Test("sides follow the affine: an RAS and an LPS file of one scan give the same picture")
    func orientation() throws {
        let ras = try Self.scan(), lps = try Self.scan(lps: true)
        #expect(ras.ct.geometry.orientation == "LAS" && lps.ct.geometry.orientation == "RPS")
        let a = try Preview.render(ct: ras.ct, labels: ras.labels, names: ["liver", "spleen"])
        let b = try Preview.render(ct: lps.ct, labels: lps.labels, names: ["liver", "spleen"])
        // The panels agree pixel for pixel (the caption names each file's own axis codes).
        for (pa, pb) in zip(a.panels, b.panels) {
            #expect(pa.width == pb.width && pa.height == pb.height && pa.labels == pb.labels)
            var differing = 0
            for v in 0..<pa.height { for u in 0..<pa.width where a.canvas[pa.x + u, pa.y + v] != b.canvas[pb.x + u, pb.y + v] { differing += 1 } }
            #expect(differing == 0, "\(pa.name): \(differing) pixels differ")
        }
        // Axial, read as a radiologist does: the liver (patient's right) on the screen's left, the
        // spleen (left, anterior) on the right and near the top.
        let axial = a.panels[0]
        #expect(axial.sides == ("R", "L", "A", "P"))
        func centroid(_ value: Int, _ p: Preview.Panel) -> (Double, Double) {
            var su = 0.0, sv = 0.0, n = 0.0
            for v in 0..<p.height { for u in 0..<p.width where p.labels[v * p.width + u] == value { su += Double(u); sv += Double(v); n += 1 } }
            return (su / n, sv / n)
        }
        let liver = centroid(1, axial)
        #expect(liver.0 < Double(axial.width) / 2)
        let coronal = a.panels[1]
        #expect(coronal.sides == ("R", "L", "S", "I"))
        let sagittal = a.panels[2]
        #expect(sagittal.sides == ("A", "P", "S", "I"))
        // The liver's anterior edge (j = 27) is nearer the sagittal panel's left (anterior) side than its posterior edge.
        let front = centroid(1, sagittal)
        #expect(front.0 < Double(sagittal.width) * 0.6)
    }

    @Test("clicks: foreground discs and background crosses, told apart by shape")
    func clicks() throws {
        let (ct, labels) = try Self.scan()
        let r = try Preview.render(ct: ct, labels: labels, names: ["liver", "spleen"],
                                   clicks: [.init(voxel: [10, 18, 12], foreground: true), .init(voxel: [20, 10, 12], foreground: false)])
        let colours = Set(r.canvas.pixels.indices.filter { $0 % 3 == 0 }.map { RGB(r.canvas.pixels[$0], r.canvas.pixels[$0 + 1], r.canvas.pixels[$0 + 2]) })
        #expect(colours.contains(Palette.foregroundClick) && colours.contains(Palette.backgroundClick))
    }

    @Test("training curves: numbers from a job's metrics.json are checked where they enter")
    func curves() {
        let json = #"{"history": [{"epoch": 1, "train_loss": 2.5, "val_mean_dice": 0.7}, {"epoch": 2, "train_loss": 1e308},"#
            + #" {"epoch": -4, "train_loss": 1.0}, {"epoch": 1e30, "train_loss": 1.0}, {"epoch": 3, "train_loss": -1e308},"#
            + #" {"epoch": 4, "train_loss": 1.5, "val_mean_dice": 7}, {"epoch": 2.5, "train_loss": 1}]}"#
        let history = TrainingCurves.history(metricsJSON: Data(json.utf8))
        #expect(history == [.init(epoch: 1, loss: 2.5, dice: 0.7), .init(epoch: 4, loss: 1.5, dice: nil)])
        let png = TrainingCurves.png(history, title: "T")
        #expect((try? PNGImage.size(of: png))?.width == 560)
        #expect(TrainingCurves.png([], title: "EMPTY").count > 100)   // no epoch yet: a plot that says so
    }

    @Test("label colours are fixed per name, case-insensitive, and from the colour-blind-safe palette")
    func palette() {
        #expect(Palette.color(for: "Liver") == Palette.color(for: "liver"))
        #expect(Palette.okabeIto.contains(Palette.color(for: "some_new_structure")))
        #expect(Palette.color(for: "some_new_structure") == Palette.color(for: "some_new_structure"))
    }
}
