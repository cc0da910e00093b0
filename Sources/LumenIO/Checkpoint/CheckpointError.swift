/// Why a weights file could not be turned into a state dict. Messages name the
/// file, so an admin uploading a model sees what to fix.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    case notACheckpoint(file: String)
    case truncated(file: String, detail: String)
    case badZip(file: String, detail: String)
    case compressedEntry(file: String, entry: String)
    case missingEntry(file: String, entry: String)
    case badPickle(file: String, detail: String)
    case unsupportedGlobal(file: String, name: String)
    case pickledModule(file: String, className: String)
    case unsupportedDType(file: String, dtype: String)
    case storageOutOfRange(file: String, key: String)
    case noStateDict(file: String, keys: [String])
    case badSafetensors(file: String, detail: String)
    case torchScript(file: String)

    public var description: String {
        switch self {
        case .notACheckpoint(let f):
            return "\(f): not a PyTorch checkpoint (expected a zip, a legacy pickle or safetensors file)"
        case .truncated(let f, let d):
            return "\(f): truncated or corrupt: \(d); upload the file again"
        case .badZip(let f, let d):
            return "\(f): broken zip structure: \(d)"
        case .compressedEntry(let f, let e):
            return "\(f): entry \(e) is compressed; PyTorch writes stored entries, re-save with torch.save"
        case .missingEntry(let f, let e):
            return "\(f): the archive has no \(e)"
        case .badPickle(let f, let d):
            return "\(f): cannot read the pickled state dict: \(d)"
        case .unsupportedGlobal(let f, let n):
            return "\(f): refers to \(n), which a state dict never needs; only tensors and plain values are loaded"
        case .pickledModule(let f, let c):
            return "\(f): holds a pickled module (\(c)), not a state dict; re-save it with torch.save(model.state_dict(), path)"
        case .unsupportedDType(let f, let d):
            return "\(f): tensor dtype \(d) is not supported"
        case .storageOutOfRange(let f, let k):
            return "\(f): tensor data for storage \(k) lies outside the file"
        case .noStateDict(let f, let keys):
            return "\(f): no state dict found; top-level keys are \(keys.sorted()); expected tensors or one of model, state_dict, net, network"
        case .badSafetensors(let f, let d):
            return "\(f): invalid safetensors file: \(d)"
        case .torchScript(let f):
            return "\(f): is a TorchScript archive (model.ts); Lumen loads state dicts, use models/model.pt"
        }
    }
}
