import Foundation
@testable import LumenCluster
import LumenStore
import Testing

/// Against the real one-machine Slurm of scripts/services. Serialized: one of them stops the controller.
@Suite(.serialized) struct SlurmJobTests {
    @Test func sbatchErrorsAreTypedWithSlurmsMessage() async throws {
        let client = try await TestCluster.shared.client()
        let dir = temporaryDirectory("bad")
        let script = dir.appendingPathComponent("job.sh")
        try Data("#!/bin/bash\necho hi\n".utf8).write(to: script)
        do {
            _ = try await client.submit(script: script, arguments: ["--partition=nope"])
            Issue.record("sbatch accepted an unknown partition")
        } catch SlurmError.commandFailed(let command, let status, let message) {
            #expect(command == "sbatch" && status != 0)
            #expect(message.contains("invalid partition"), "\(message)")
        }
        #expect(try await client.show(jobID: "999999") == nil)
        #expect(try await client.accounting(jobID: "1") == nil)   // no slurmdbd: detected, then remembered
        #expect(await client.accountingAvailable == false)
    }

    @Test func finishedFailedAndCancelledJobsAreFollowedToTheirEnd() async throws {
        let client = try await TestCluster.shared.client()
        let jobs = try ScriptJob("basic", client: client)
        let (ok, okSlurm) = try await jobs.submit("ok", body: "sleep 2; echo ok", options: ["--time=2"])
        let (fail, failSlurm) = try await jobs.submit("fail", body: "echo failing; exit 3", options: ["--time=2"])
        let (cancel, cancelSlurm) = try await jobs.submit("cancel", body: "sleep 120", options: ["--time=5"])
        let recorder = Recorder()
        let monitor = await recorder.monitor(store: jobs.store, client: client)
        let running = Task { try await monitor.run() }
        defer { running.cancel() }

        try await eventually("cancel job running", timeout: .seconds(60)) {
            try await client.show(jobID: cancelSlurm)?.state == .running
        }
        try await client.cancel(jobID: cancelSlurm)
        try await eventually("three jobs finished", timeout: .seconds(90)) {
            await recorder.finished.count == 3
        }
        let okRow = try #require(try jobs.store.job(id: ok))
        #expect(okRow.state == "COMPLETED" && okRow.exitCode == "0:0" && okRow.finishedAt != nil)
        let failRow = try #require(try jobs.store.job(id: fail))
        #expect(failRow.state == "FAILED" && failRow.exitCode == "3:0", "\(failRow)")
        let cancelRow = try #require(try jobs.store.job(id: cancel))
        #expect(cancelRow.state == "CANCELLED", "\(cancelRow)")
        #expect(try String(contentsOfFile: okRow.runDir + "/slurm-\(okSlurm).out", encoding: .utf8).contains("ok"))
        // What scontrol says directly, and what the monitor reported.
        let failInfo = try #require(try await client.show(jobID: failSlurm))
        #expect(failInfo.state == .failed && failInfo.exitCode == ExitStatus(status: 3, signal: 0) && failInfo.state.isFinal)
        let states = await recorder.updates(ok).map(\.state)
        #expect(states.last == .completed)
        // Once per job, even while the monitor keeps polling.
        try await Task.sleep(for: .seconds(2))
        for id in [ok, fail, cancel] { #expect(await recorder.finishCount(id) == 1) }
        #expect(try jobs.store.openJobs().isEmpty)
    }

    @Test func controllerOutageIsReportedAsUnknownThenFollowedToTheEnd() async throws {
        let client = try await TestCluster.shared.client()
        let jobs = try ScriptJob("outage", client: client)
        let (id, slurmID) = try await jobs.submit("outage", body: "sleep 30; echo ok", options: ["--time=3"])
        let recorder = Recorder()
        let monitor = await recorder.monitor(store: jobs.store, client: client)
        let running = Task { try await monitor.run() }
        defer { running.cancel() }
        try await eventually("job running", timeout: .seconds(60)) {
            await recorder.updates(id).last?.state == .running
        }
        try await TestCluster.shared.stopController()
        do {
            try await eventually("monitor reports UNKNOWN", timeout: .seconds(60)) {
                await recorder.updates(id).last?.state == .unknown
            }
            let unknown = try #require(await recorder.updates(id).last)
            let since = try #require(unknown.unknownSince)
            #expect(since <= Date() && Date().timeIntervalSince(since) < 60)
            #expect(await monitor.controllerUnreachableSince != nil)
            let row = try #require(try jobs.store.job(id: id))
            #expect(row.state == "UNKNOWN" && row.reason?.contains("unreachable") == true)
            #expect(abs(row.stateSince.timeIntervalSince(since)) < 0.01, "UNKNOWN since \(row.stateSince) vs reported \(since)")
        } catch {
            try await TestCluster.shared.startController()
            throw error
        }
        try await TestCluster.shared.startController()
        try await eventually("job completed after the controller came back", timeout: .seconds(120)) {
            await recorder.finished(id) != nil
        }
        #expect(try jobs.store.job(id: id)?.state == "COMPLETED")
        #expect(try jobs.store.job(id: id)?.exitCode == "0:0")
        #expect(await monitor.controllerUnreachableSince == nil)
        #expect(try await client.show(jobID: slurmID)?.state == .completed)
    }

    @Test func aNewMonitorOverTheSameStoreFollowsARunningJob() async throws {
        let client = try await TestCluster.shared.client()
        let jobs = try ScriptJob("restart", client: client)
        let (id, _) = try await jobs.submit("restart", body: "sleep 10; echo ok", options: ["--time=2"])
        let first = Recorder()
        let monitorA = await first.monitor(store: jobs.store, client: client)
        let taskA = Task { try await monitorA.run() }
        try await eventually("job running", timeout: .seconds(60)) {
            await first.updates(id).last?.state == .running
        }
        taskA.cancel()
        _ = try? await taskA.value
        #expect(await first.finished.isEmpty)

        // "Restart": a new store object and monitor over the same directory, told nothing about the job.
        let reopened = try Datastore(directory: jobs.dir.appendingPathComponent("store"))
        let second = Recorder()
        let monitorB = await second.monitor(store: reopened, client: client)
        let taskB = Task { try await monitorB.run() }
        defer { taskB.cancel() }
        try await eventually("job completed under the new monitor", timeout: .seconds(60)) {
            await second.finished(id) != nil
        }
        #expect(await second.finished(id)?.state == "COMPLETED")
        #expect(await second.updates(id).first?.state == .running)
    }

    @Test func finetuneSubmissionTrainsAndLeavesACandidate() async throws {
        let client = try await TestCluster.shared.client()
        let python = try await trainPython()
        let work = temporaryDirectory("finetune")
        let data = work.appendingPathComponent("data")
        let made = try await sh("'\(python)' '\(repoRoot.path)/slurm/test/make_dataset.py' --out '\(data.path)' --cases 3 --size 48")
        try #require(made.status == 0, "make_dataset.py: \(made.stderr)")
        let store = try Datastore(directory: work.appendingPathComponent("store"))
        let settings = SlurmJobSettings(partition: "gpu", nodes: 1, gpusPerNode: 2, cpusPerTask: 2, time: "00:05:00",
                                        signalSeconds: 120, python: python,
                                        script: repoRoot.appendingPathComponent("slurm/finetune.py").path,
                                        template: repoRoot.appendingPathComponent("slurm/finetune.sbatch.template").path)
        let submitter = FinetuneSubmitter(store: store, slurm: client, runRoot: work.appendingPathComponent("runs"),
                                          settings: settings)
        let submitted = try await submitter.submit(FinetuneRequest(
            modelName: "abdominal_organs", baseVersion: "v1",
            bundleDir: repoRoot.appendingPathComponent("mmar/abdominal_organs"), datasetDir: data, submittedBy: "tester",
            training: TrainingSettings(maxEpochs: 2, valSplit: "0.34", seed: 1, batchSize: 1, lr: "0.001", patch: "32")))
        let job = submitted.job
        let runDir = URL(fileURLWithPath: job.runDir)
        let tokenMode = try FileManager.default.attributesOfItem(atPath: runDir.appendingPathComponent("report.token").path)[.posixPermissions] as? Int
        #expect(tokenMode == 0o600)
        let script = try String(contentsOf: submitted.script, encoding: .utf8)
        #expect(!script.contains(submitted.reportToken) && !script.contains("#SBATCH --mem=") && script.contains("--gres=gpu:2"))

        let recorder = Recorder()
        let monitor = await recorder.monitor(store: store, client: client)
        let running = Task { try await monitor.run() }
        defer { running.cancel() }
        try await eventually("fine-tune job finished", timeout: .seconds(240)) { await recorder.finished(job.id) != nil }
        let row = try #require(try store.job(id: job.id))
        let log = (try? String(contentsOf: runDir.appendingPathComponent("slurm-\(job.slurmJobID ?? "").out"), encoding: .utf8)) ?? ""
        #expect(row.state == "COMPLETED", "\(row)\n\(log.suffix(3000))")
        let progress = await recorder.updates(job.id).compactMap(\.progress)
        #expect(!progress.isEmpty, "no train_stats.json read")
        #expect(progress.contains { $0.epoch != nil && $0.totalEpochs == 2 })
        let final = try #require(TrainProgress(json: row.progress ?? ""))
        #expect(final.status == "DONE" && final.epoch == 2)
        let candidate = runDir.appendingPathComponent("candidate")
        #expect(FileManager.default.fileExists(atPath: candidate.appendingPathComponent("models/model.pt").path))
        let result = try #require(row.result.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) } as? [String: Any])
        #expect(result["candidate"] as? String == candidate.path && result["metrics"] != nil)
        print("finetune job \(job.id) (slurm \(job.slurmJobID ?? "?")): \(row.state) \(row.exitCode ?? ""); progress reports read: \(progress.count); stats \(progress.map { "\($0.status ?? "?")@\($0.epoch ?? -1)" })")
    }

    /// The training venv: $LUMEN_TRAIN_VENV or the one scripts/env/setup_train_python builds.
    func trainPython() async throws -> String {
        let r = try await sh("'\(repoRoot.path)/scripts/env/setup_train_python'", timeout: .seconds(1200))
        guard r.status == 0, let venv = r.stdout.split(separator: "\n").last else {
            throw TestFailure("scripts/env/setup_train_python failed: \(r.stderr)")
        }
        return "\(venv)/bin/python"
    }
}

/// The real time limit (`--time=1`, one-minute resolution, then KillWait): about 90 s. Runs beside
/// the serialized suite; a monitor follows it, so a controller outage meanwhile does no harm.
@Suite struct SlurmTimeLimitTests {
    @Test(.timeLimit(.minutes(4))) func slowJobOverItsTimeLimitEndsInTIMEOUT() async throws {
        let client = try await TestCluster.shared.client()
        let jobs = try ScriptJob("timeout", client: client)
        let (id, _) = try await jobs.submit("timeout", body: "sleep 120", options: ["--time=1"])
        let recorder = Recorder()
        let monitor = await recorder.monitor(store: jobs.store, client: client, interval: .seconds(2))
        let running = Task { try await monitor.run() }
        defer { running.cancel() }
        try await eventually("TIMEOUT", timeout: .seconds(200)) { await recorder.finished(id) != nil }
        let row = try #require(try jobs.store.job(id: id))
        #expect(row.state == "TIMEOUT", "\(row)")
        #expect(row.reason == "TimeLimit" || row.reason == "" || row.reason == nil, "\(row)")
    }
}
