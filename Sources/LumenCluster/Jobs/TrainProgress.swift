import Foundation

/// `<run_dir>/train_stats.json` as slurm/finetune.py writes it (rank 0, atomically): MONAI Label's
/// train_stats shape plus status, eta and job id. `json` is the object as read, kept whole for clients.
public struct TrainProgress: Sendable, Equatable {
    public var json: String
    public var status: String?
    public var epoch: Int?
    public var totalEpochs: Int?
    public var bestMetric: Double?
    public var etaSeconds: Int?
    public var slurmJobID: String?

    public static let fileName = "train_stats.json"

    /// nil when the text is not a JSON object (a file caught mid-write by a non-atomic writer).
    public init?(json text: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return nil }
        json = text.trimmingCharacters(in: .whitespacesAndNewlines)
        status = object["status"] as? String
        epoch = (object["epoch"] as? NSNumber)?.intValue
        totalEpochs = (object["total_epochs"] as? NSNumber)?.intValue
        bestMetric = (object["best_metric"] as? NSNumber)?.doubleValue
        etaSeconds = (object["eta_seconds"] as? NSNumber)?.intValue
        slurmJobID = (object["job_id"] as? String) ?? (object["job_id"] as? NSNumber).map { "\($0)" }
    }

    /// Reads the run directory's stats file; nil when there is none (yet) or it is unreadable.
    public static func read(runDir: URL) -> TrainProgress? {
        let url = runDir.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        return TrainProgress(json: String(decoding: data, as: UTF8.self))
    }
}
