import Foundation
@testable import LumenCluster
import Testing

/// Lines of a fixture table: `<command output line>\t<expected fields...>`, `#` comments.
func fixtureRows(_ name: String) throws -> [[String]] {
    let text = try String(contentsOf: fixturesDir.appendingPathComponent(name), encoding: .utf8)
    return text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }.map {
        $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
    }
}

@Suite struct JobStateTests {
    @Test func squeueLinesMapToStates() throws {
        let rows = try fixtureRows("squeue.txt")
        #expect(rows.count >= 24)
        for row in rows {
            let info = try #require(SlurmOutput.parseSqueueLine(row[0]), "unparsed: \(row[0])")
            #expect(info.state.rawValue == row[1], "\(row[0])")
            #expect(info.state.isFinal == (row[2] == "true"), "isFinal of \(row[0])")
            #expect(info.state.isSuccess == (row[3] == "true"), "isSuccess of \(row[0])")
            #expect(info.reason == (row[4] == "-" ? nil : row[4]), "reason of \(row[0])")
            #expect(info.jobID == String(row[0].prefix { $0 != "|" }))
        }
        let running = try #require(SlurmOutput.parseSqueueLine("17|RUNNING|None|n[1-2]|1:02:03|4:00:00"))
        #expect(running.nodeList == "n[1-2]" && running.runTime == "1:02:03" && running.timeLimit == "4:00:00")
    }

    @Test func everySlurmStateIsClassified() {
        let final: Set<JobState> = [.completed, .failed, .cancelled, .timeout, .preempted, .nodeFail, .outOfMemory,
                                    .bootFail, .deadline, .specialExit, .revoked, .lost]
        for state in JobState.allCases {
            #expect(state.isFinal == final.contains(state), "\(state)")
            #expect(JobState(slurm: state.rawValue) == state)
            #expect(!(state.isQueued && state.isActive))
        }
        #expect(JobState(slurm: "CANCELLED by 0") == .cancelled)
        #expect(JobState(slurm: "CANCELLED by 1000") == .cancelled)
        #expect(JobState(slurm: "CANCELLED+") == .cancelled)
        #expect(JobState(slurm: "cd") == .completed && JobState(slurm: "PD") == .pending)
        #expect(JobState(slurm: "") == .unknown && !JobState.unknown.isFinal)
    }

    @Test func sacctLinesGiveStateAndExitCode() throws {
        for row in try fixtureRows("sacct.txt") {
            let info = try #require(SlurmOutput.parseSacctLine(row[0]), "unparsed: \(row[0])")
            #expect(info.state.rawValue == row[1], "\(row[0])")
            #expect(info.exitCode?.slurmText == row[2], "\(row[0])")
        }
    }

    @Test(arguments: [
        ("scontrol-completed.txt", "19", JobState.completed, "0:0", nil as String?, "n1" as String?, 0),
        ("scontrol-failed.txt", "20", .failed, "3:0", "NonZeroExitCode", "n1", 0),
        ("scontrol-cancelled.txt", "21", .cancelled, "0:15", nil, "n2", 0),
        ("scontrol-pending-requeued.txt", "5", .pending, "0:0", "BeginTime", nil, 1),
    ])
    func scontrolLines(file: String, id: String, state: JobState, exit: String, reason: String?, node: String?,
                       restarts: Int) throws {
        let text = try String(contentsOf: fixturesDir.appendingPathComponent(file), encoding: .utf8)
        let info = try #require(SlurmOutput.parseScontrol(text))
        #expect(info.jobID == id)
        #expect(info.state == state)
        #expect(info.exitCode?.slurmText == exit)
        #expect(info.reason == reason)
        #expect(info.nodeList == node)
        #expect(info.batchHost == node)
        #expect(info.restarts == restarts)
        #expect(info.timeLimit == "00:05:00")
    }

    @Test func exitCodesDecodeStatusAndSignal() throws {
        let sigterm = try #require(ExitStatus(slurm: "0:15"))
        #expect(sigterm.status == 0 && sigterm.signal == 15 && sigterm.terminatingSignal == 15)
        #expect(sigterm.description == "killed by signal 15 (SIGTERM)")
        let three = try #require(ExitStatus(slurm: "3:0"))
        #expect(three.status == 3 && three.terminatingSignal == nil && !three.isSuccess)
        let killed = try #require(ExitStatus(slurm: "137:0"))
        #expect(killed.terminatingSignal == 9 && killed.description == "exit status 137 = 128+9 (SIGKILL)")
        #expect(ExitStatus(slurm: "0:0")?.isSuccess == true)
        #expect(ExitStatus(slurm: "x") == nil && ExitStatus(slurm: "1") == nil && ExitStatus(slurm: "1:2:3") == nil)
        #expect(ExitStatus(waitStatus: 256) == ExitStatus(status: 1))
        #expect(ExitStatus(waitStatus: 9) == ExitStatus(status: 0, signal: 9))
        #expect(ExitStatus(status: 85).slurmText == "85:0")
    }

    @Test func controllerDownMessagesAreTransient() {
        let down = CommandResult(status: 1, stdout: "",
                                 stderr: "squeue: error: Unable to contact slurm controller (connect failure)\n")
        #expect(SlurmError.classify(command: "squeue", result: down).isTransient)
        let refused = CommandResult(status: 1, stdout: "", stderr: "slurm_load_jobs error: Connection refused")
        #expect(SlurmError.classify(command: "scontrol", result: refused).isTransient)
        let bad = CommandResult(status: 1, stdout: "", stderr: "sbatch: error: invalid partition specified: nope")
        let error = SlurmError.classify(command: "sbatch", result: bad)
        #expect(!error.isTransient)
        #expect(error == .commandFailed(command: "sbatch", status: 1, message: "sbatch: error: invalid partition specified: nope"))
    }

    @Test func backoffDoublesUpToTheLimit() {
        let p = RetryPolicy(attempts: 5, initialDelay: .seconds(1), maxDelay: .seconds(5))
        #expect((1...5).map { p.delay(afterFailures: $0) } == [.seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5)])
    }

    @Test func trainStatsAreRead() throws {
        let text = #"{"epoch": 1, "total_epochs": 2, "status": "RUNNING", "best_metric": 0.25, "eta_seconds": 7, "job_id": "12", "train": {"metrics": {"train_loss": 1.5}}}"#
        let p = try #require(TrainProgress(json: text))
        #expect(p.epoch == 1 && p.totalEpochs == 2 && p.status == "RUNNING" && p.bestMetric == 0.25 && p.etaSeconds == 7)
        #expect(p.slurmJobID == "12")
        #expect(TrainProgress(json: "{\"epoch\": 1, ") == nil)
    }
}
