import Foundation
@testable import LumenCluster
import Testing

@Suite struct SbatchTemplateTests {
    static let templateURL = repoRoot.appendingPathComponent("slurm/finetune.sbatch.template")

    static func values(_ overrides: [String: String] = [:]) -> [String: String] {
        var v = [
            "job_name": "lumen-ft-test", "run_dir": "/shared/lumen/runs/test", "nodes": "2", "gpus_per_node": "4",
            "cpus_per_task": "16", "mem": "128G", "time": "04:00:00", "partition": "gpu", "account": "", "qos": "",
            "signal_seconds": "600", "max_requeues": "3", "python": "/shared/lumen/.venv-train/bin/python",
            "script": "/shared/lumen/slurm/finetune.py", "bundle": "/shared/lumen/models/abdominal_organs/v3",
            "data": "/shared/lumen/exports/final-2026-12-05", "out": "/shared/lumen/runs/test/candidate",
            "max_epochs": "50", "val_split": "0.2", "seed": "0", "batch_size": "2", "lr": "0.0001", "patch": "96,96,64",
            "report_url": "", "report_token_file": "",
        ]
        v.merge(overrides) { _, new in new }
        return v
    }

    /// render_template.py with the same values, via --values JSON.
    func python(_ values: [String: String], template: URL = templateURL) async throws -> CommandResult {
        let dir = temporaryDirectory("render")
        defer { try? FileManager.default.removeItem(at: dir) }
        let json = dir.appendingPathComponent("values.json")
        try JSONSerialization.data(withJSONObject: values, options: [.sortedKeys]).write(to: json)
        let out = dir.appendingPathComponent("job.sbatch")
        let script = repoRoot.appendingPathComponent("slurm/render_template.py").path
        var r = try await LocalCommandRunner().run("python3", [script, "--template", template.path, "--values", json.path,
                                                               "-o", out.path], environment: [:], timeout: .seconds(60))
        if r.status == 0 { r.stdout = try String(contentsOf: out, encoding: .utf8) }
        return r
    }

    @Test(arguments: [
        [:],
        ["mem": "", "partition": "", "gpus_per_node": "", "nodes": "1"],
        ["account": "proj-42", "qos": "high", "report_url": "http://10.0.0.1:8000/train/progress",
         "report_token_file": "/shared/lumen/runs/test/report.token"],
        ["time": "1-00:00:00", "lr": "1e-05", "patch": "32", "signal_seconds": "120", "job_name": "lumen-ft-0a1b@x+y=z%"],
    ])
    func swiftAndPythonRenderTheSameBytes(overrides: [String: String]) async throws {
        let values = Self.values(overrides)
        let swift = try SbatchTemplate(contentsOf: Self.templateURL).render(values)
        let py = try await python(values)
        #expect(py.status == 0, "render_template.py: \(py.stderr)")
        #expect(Array(swift.utf8) == Array(py.stdout.utf8))
        for (name, value) in values where value.isEmpty && ["mem", "partition", "account", "qos", "gpus_per_node"].contains(name) {
            #expect(!swift.contains("#SBATCH --\(name == "gpus_per_node" ? "gres" : name)="), "\(name) line kept")
        }
        #expect(SbatchTemplate.names(in: swift).isEmpty, "a placeholder was left")
    }

    @Test func edgeCasesMatchPython() async throws {
        // CRLF and CR line ends, a placeholder twice on a line, braces that are not placeholders, Unicode names.
        let dir = temporaryDirectory("tpl")
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = "#!/bin/bash\r\n#SBATCH --a={{a}} --b={{b}}\r#SBATCH --keep={{a}}{{a}}\n{{{a}}} {{ b }} {{é}}\n#SBATCH --c={{c}}\nx={{c}}"
        let url = dir.appendingPathComponent("t.template")
        try Data(text.utf8).write(to: url)
        for values in [["a": "1", "b": "", "c": "", "é": "u"], ["a": "", "b": "2", "c": "3", "é": ""]] {
            let swift = try SbatchTemplate(text: text).render(values)
            let py = try await python(values, template: url)
            #expect(py.status == 0, "\(py.stderr)")
            #expect(Array(swift.utf8) == Array(py.stdout.utf8), "\(values): \(swift.debugDescription) vs \(py.stdout.debugDescription)")
        }
    }

    @Test func refusalsMatchPython() async throws {
        let template = try SbatchTemplate(contentsOf: Self.templateURL)
        #expect(template.placeholders.count == 25)
        var missing = Self.values()
        missing["seed"] = nil
        missing["lr"] = nil
        #expect(throws: SbatchTemplate.TemplateError.missingValues(["lr", "seed"])) { try template.render(missing) }
        let py = try await python(missing)
        #expect(py.status == 2 && py.stderr.contains("no value for: lr, seed"))
        for bad in ["/path with space", "a\"b", "$(id)", "x\n", "a\\b", "a'b", "a;b", "é"] {
            let values = Self.values(["run_dir": bad])
            #expect(throws: SbatchTemplate.TemplateError.unsafeValue(name: "run_dir", value: bad)) { try template.render(values) }
            let py = try await python(values)
            #expect(py.status == 2, "python accepted \(bad.debugDescription)")
        }
    }
}
