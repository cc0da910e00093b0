import Foundation
import LumenStore
import Testing

@Suite struct JobStoreTests {
    @Test func jobRowsUpdateAuditAndSurviveReopening() throws {
        let dir = temporaryDirectory("jobstore")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Datastore(directory: dir)
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        try store.insertJob(FinetuneJobRecord(id: "ft-1", slurmJobID: "7", modelName: "abdominal_organs", baseVersion: "v3",
                                              runDir: "/runs/ft-1", state: "PENDING", submittedBy: "alice", submittedAt: t0,
                                              config: #"{"out":"/runs/ft-1/candidate"}"#))
        #expect(throws: StoreError.self) {
            try store.insertJob(FinetuneJobRecord(id: "bad id", slurmJobID: nil, modelName: "m", baseVersion: nil,
                                                  runDir: "/r", state: "PENDING", submittedBy: "a"))
        }
        var job = try store.updateJob(id: "ft-1", FinetuneJobUpdate(state: "RUNNING", progress: #"{"epoch":1}"#),
                                      at: t0 + 10)
        #expect(job.state == "RUNNING" && job.stateSince == t0 + 10 && job.progress == #"{"epoch":1}"#)
        job = try store.updateJob(id: "ft-1", FinetuneJobUpdate(state: "RUNNING"), at: t0 + 20)
        #expect(job.stateSince == t0 + 10 && job.updatedAt == t0 + 10, "no change, no write")
        #expect(try store.openJobs().map(\.id) == ["ft-1"])

        job = try store.updateJob(id: "ft-1", FinetuneJobUpdate(state: "COMPLETED", exitCode: "0:0", result: "{}", isFinal: true),
                                  at: t0 + 30)
        #expect(job.finishedAt == t0 + 30 && job.exitCode == "0:0" && job.progress == #"{"epoch":1}"#)
        #expect(try store.openJobs().map(\.id) == ["ft-1"], "final but not yet notified")
        try store.markJobNotified(id: "ft-1")
        #expect(try store.openJobs().isEmpty)

        let reopened = try Datastore(directory: dir)
        let again = try #require(try reopened.job(id: "ft-1"))
        #expect(again.state == "COMPLETED" && again.baseVersion == "v3" && again.submittedBy == "alice" && again.notifiedAt != nil)
        #expect(try reopened.jobs(modelName: "abdominal_organs").count == 1)
        let actions = try reopened.auditLog().map(\.action)
        #expect(actions == ["job.submit", "job.finish"])
    }
}
