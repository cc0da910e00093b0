import Foundation
import HTTPTypes
import LumenInference
import LumenModels
import LumenIO
import LumenStore
import LumenTransforms
import NIOCore

/// Refusals that come from the HTTP layer itself (auth, bad requests).
public enum ServerError: Error, Equatable, CustomStringConvertible {
    case notAuthenticated
    case invalidToken
    case forbidden(user: String, needs: String)
    case badRequest(String)
    /// A well-formed request with a value the route cannot use (MONAI Label answers these with 422).
    case unprocessable(String)
    case internalFailure(String)
    case notFound(String)
    /// AIAA's own status: Slicer answers it by forgetting the session and uploading again.
    case sessionExpired(String)
    case busy(retryAfter: Int)
    case tooLarge(String)
    case lengthRequired(String)
    /// The client hung up while its inference waited; nobody will read a reply.
    case clientGone
    case tokensFile(path: String, reason: String)
    case openNonLoopback(host: String)

    public var description: String {
        switch self {
        case .notAuthenticated: "Not authenticated"
        case .invalidToken: "the bearer token is not known to this server; ask an admin for a token"
        case .forbidden(let user, let needs): "user '\(user)' may not do this; it needs the \(needs) role"
        case .badRequest(let why): why
        case .unprocessable(let why): why
        case .internalFailure(let why): why
        case .notFound(let why), .sessionExpired(let why), .tooLarge(let why), .lengthRequired(let why): why
        case .clientGone: "the client closed the connection before its inference started; it was skipped"
        case .busy(let seconds): "the server is busy with other inferences and its queue is full; retry in \(seconds) s"
        case .tokensFile(let path, let reason): "\(path): \(reason)"
        case .openNonLoopback(let host):
            "refusing to listen on \(host) without --tokens: anyone on the network could read and change the datastore; give a tokens file or listen on 127.0.0.1 (and use ssh -L)"
        }
    }
}

/// The one place where any error becomes a status and `{"detail": "..."}`.
enum ErrorMapping {
    static func status(for error: any Error) -> HTTPResponse.Status {
        switch error {
        case let e as StoreError:
            switch e.category {
            case .notFound: return .notFound
            case .conflict: return .conflict
            case .invalidInput: return .badRequest
            case .unprocessable: return .unprocessableContent
            case .internalFailure: return .internalServerError
            }
        case let e as ServerError:
            switch e {
            case .notAuthenticated, .invalidToken: return .unauthorized
            case .forbidden: return .forbidden
            case .badRequest: return .badRequest
            case .unprocessable: return .unprocessableContent
            case .internalFailure, .tokensFile, .openNonLoopback: return .internalServerError
            case .notFound: return .notFound
            case .sessionExpired: return .init(code: 440, reasonPhrase: "Session Expired")
            case .busy: return .serviceUnavailable
            case .tooLarge: return .contentTooLarge
            case .lengthRequired: return .lengthRequired
            case .clientGone: return .init(code: 499, reasonPhrase: "Client Closed Request")
            }
        case is InferenceError, is NIfTIError, is TransformError, is PNGError, is UnzipError: return .badRequest
        case is MultipartError: return .badRequest
        case let e as ModelError:
            switch e {
            case .notFound: return .notFound
            case .invalid: return .badRequest
            case .refused, .conflict: return .conflict
            case .busy: return .tooManyRequests
            }
        case is NIOTooManyBytesError: return .contentTooLarge
        default: return .internalServerError
        }
    }
}
