/// What the model registry and its versions refuse, in domain terms; the
/// server maps each case to one HTTP status in one place (ErrorMapping).
public enum ModelError: Error, Equatable, CustomStringConvertible {
    /// No such model or version.
    case notFound(String)
    /// The candidate cannot serve: it does not load, its keys do not bind, or its smoke inference failed.
    case invalid(String)
    /// The gate refused the candidate (worse than serving, or different labels); it stays a candidate.
    case refused(String)
    /// The request asks for something the version's state does not allow.
    case conflict(String)
    /// A fine-tuning job already runs (MONAI Label answers 429).
    case busy(String)

    public var description: String {
        switch self {
        case .notFound(let s), .invalid(let s), .refused(let s), .conflict(let s), .busy(let s): s
        }
    }
}
