import ArgumentParser
import Foundation
import LumenIO
import LumenPhantom
import LumenPreview

/// The README's first command: what a radiologist's first session looks like,
/// end to end over the real protocol, on a synthetic CT (no patient data).
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start lumen serve on loopback with the bundled models, make a phantom CT, and use it as Slicer would.",
        discussion: """
        Lists the models, segments organs, bones and hepatic arteries, opens a session and makes 3 deepgrow \
        clicks on the spleen as a user would (its centre, then the centre of the largest error), saves every \
        result next to the input with a preview PNG, prints a report with timings and Dice against the \
        phantom's ground truth, and stops the server.
        """)

    @Option(help: "Where the CT, the results and the demo's datastore go.") var output = "demo-output"
    @Option(help: "Phantom size: full (0.6–1.0 mm, 1–5 mm slices), medium (1 mm, 1.25 mm slices) or small (2 mm).") var size = "full"
    @Option(help: "Phantom seed.") var seed: UInt64 = 42
    @Option(help: "Port for the demo server (loopback only).") var port = 8123
    @Option(help: "Model directories to serve.") var models = ["mmar"]
    @Flag(inversion: .prefixedNo, help: "Write a preview PNG next to each result (the CT with the labels' outlines and the clicks).")
    var preview = true

    func run() async throws {
        let out = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        var report = DemoReport()
        let start = Date()
        guard let size = Phantom.Size(rawValue: size) else { throw ValidationError("--size must be full, medium or small") }
        let phantom = try Phantom.generate(seed: seed, index: 0, size: size)
        let ct = out.appendingPathComponent("ct.nii.gz")
        try phantom.image.write(to: ct, datatype: .int16)
        try phantom.label.write(to: out.appendingPathComponent("ct_truth.nii.gz"), datatype: .uint8)
        report.line("phantom CT \(phantom.image.spatialShape.map(String.init).joined(separator: "×")), spacing \(phantom.image.geometry.spacing.map { String(format: "%.2f", $0) }.joined(separator: "×")) mm, \(phantom.image.geometry.orientation): \(ct.path) (\(Self.ms(since: start)))")

        let server = try DemoServer.start(port: port, store: out.appendingPathComponent("store"), models: models)
        defer { server.stop() }
        let client = DemoClient(base: "http://127.0.0.1:\(port)")
        try await server.waitUntilUp(client)
        report.line("lumen serve on http://127.0.0.1:\(port) (this is the URL Slicer would use)")

        let listing = try JSONSerialization.jsonObject(with: try await client.get("/v1/models")) as? [[String: Any]] ?? []
        let names = listing.compactMap { $0["name"] as? String }
        report.line("GET /v1/models: " + listing.map { "\($0["name"] ?? "?") (\($0["type"] ?? "?"))" }.joined(separator: ", "))
        let truth = phantom.label
        for name in ["abdominal_organs", "bones", "hepatic_arteries"] where names.contains(name) {
            let t0 = Date()
            let (data, type) = try await client.send("POST", "/v1/inference?model=\(name)", file: ct)
            let wall = Self.ms(since: t0)   // the round trip only: scoring and pictures below are the demo's own
            let (params, image) = try DemoClient.parts(data, contentType: type)
            let saved = out.appendingPathComponent("ct_\(name).nii.gz")
            try image.write(to: saved)
            let result = try Volume.read(saved)
            let labels = params["label_names"] as? [String: Int] ?? [:]
            let dice = labels.sorted { $0.value < $1.value }.map { label, value in
                String(format: "%@ %.3f", label, DemoScore.dice(result, value: Float(value), truth: truth,
                                                                  truthValue: DemoScore.phantomValue(label)))
            }
            let picture = try writePreview(ct: phantom.image, result: result, names: labels.sorted { $0.value < $1.value }.map(\.key),
                                           clicks: [], title: "\(name)  demo CT", to: out.appendingPathComponent("ct_\(name)_preview.png"))
            report.line("segment \(name): \(wall) (\(Self.stages(params))); Dice \(dice.joined(separator: ", ")) → \(saved.lastPathComponent)\(picture)")
        }
        if let deepgrow = ["deepgrow_3d", "deepgrow_2d"].first(where: names.contains) {
            let (data, _) = try await client.send("PUT", "/session/", params: "{}", file: ct)
            let session = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["session_id"] as? String ?? ""
            report.line("PUT /session/: \(session) (upload once, click many times)")
            let spleen = DemoScore.phantomValue("spleen")!
            // A simulated user: the spleen's centre first, then the centre of the largest error.
            var foreground: [[Int]] = [], background: [[Int]] = [], last: Volume?
            for n in 1...3 {
                guard let (click, isForeground) = DemoScore.nextClick(result: last, truth: truth, value: spleen) else { break }
                if isForeground { foreground.append(click) } else { background.append(click) }
                let t0 = Date()
                let params = "{\"foreground\": \(foreground), \"background\": \(background), \"current_point\": [\(click)]}"
                let (reply, type) = try await client.send("POST", "/v1/inference?model=\(deepgrow)&session_id=\(session)",
                                                          params: params, file: nil)
                let wall = Self.ms(since: t0)
                let (json, image) = try DemoClient.parts(reply, contentType: type)
                let saved = out.appendingPathComponent("ct_\(deepgrow)_click\(n).nii.gz")
                try image.write(to: saved)
                let result = try Volume.read(saved)
                last = result
                let dice = DemoScore.dice(result, value: nil, truth: truth, truthValue: spleen,
                                          slice: deepgrow == "deepgrow_2d" ? click[2] : nil)
                let picture = n == 3
                    ? try writePreview(ct: phantom.image, result: result, names: ["spleen"],
                                       clicks: foreground.map { Preview.Click(voxel: $0, foreground: true) }
                                           + background.map { Preview.Click(voxel: $0, foreground: false) },
                                       title: "\(deepgrow)  3 clicks", to: out.appendingPathComponent("ct_\(deepgrow)_preview.png"))
                    : ""
                report.line(String(format: "deepgrow click %d (%@) at %@ on the spleen: %@ (%@); Dice %.3f → %@%@", n,
                                   isForeground ? "foreground" : "background", "\(click)", wall, Self.stages(json), dice,
                                   saved.lastPathComponent, picture))
            }
        }
        report.line("total \(Self.ms(since: start)); results are next to \(ct.lastPathComponent) in \(out.path)")
        print(report.text)
    }

    /// Writes the preview when asked; returns the report's mention of it.
    func writePreview(ct: Volume, result: Volume, names: [String], clicks: [Preview.Click], title: String, to url: URL) throws -> String {
        guard preview else { return "" }
        let picture = try Preview.render(ct: ct, labels: result, names: names, clicks: clicks, title: title)
        try Data(picture.png).write(to: url, options: .atomic)
        return ", preview \(url.lastPathComponent)"
    }

    static func ms(since date: Date) -> String { String(format: "%.0f ms", Date().timeIntervalSince(date) * 1000) }

    static func stages(_ params: [String: Any]) -> String {
        guard let timings = params["timings"] as? [String: Double] else { return "" }
        return ["read", "queue", "pre", "infer", "post", "invert", "write"].compactMap { key in
            timings[key].map { String(format: "%@ %.0f", key, $0) }
        }.joined(separator: ", ") + " ms"
    }
}

struct DemoReport {
    private(set) var text = "Lumen demo\n"
    mutating func line(_ s: String) {
        text += "  " + s + "\n"
        FileHandle.standardError.write(Data("· \(s)\n".utf8))
    }
}
