import Foundation
import Hummingbird
import LumenInference
import LumenIO
import LumenTensor

/// MITK's polygon tools: mask2polygon (a mask in, plain JSON out, never
/// multipart) and fixpolygon (a dragged vertex in, the moved outline and the
/// redrawn mask out). Both are geometry, not networks, so they skip the
/// inference queue but still run on Lumen's compute threads.
struct PolygonRoutes: Sendable {
    let service: InferenceService

    func register(on router: Router<LumenRequestContext>) {
        router.post("/v1/mask2polygon") { request, context in try await maskToPolygon(request, context) }
        router.post("/v1/fixpolygon") { request, context in try await fixPolygon(request, context) }
    }

    /// Per k-slice, a list of polygons of `[i, j]` points.
    func maskToPolygon(_ request: Request, _ context: LumenRequestContext) async throws -> Response {
        _ = try context.require(.annotator)
        let upload = try await UploadedRequest.receive(request, service: service)
        defer { upload.form?.removeFiles() }
        guard let file = upload.form?.files.first else { throw ServerError.badRequest("POST /v1/mask2polygon needs the mask as a file part") }
        let params = try ClickParams.object(upload.form?.fields["params"])
        // A ratio in (0, 1) thins the outline; 0 or ≥ 1 keeps every boundary pixel.
        let density = try ParamReader(params).double("more_points", in: 0...1e6) ?? 1
        let mask = try await service.volume(fromUpload: file.url, name: file.fileName)
        guard mask.spatialShape.count == 3 else { throw ServerError.badRequest("\(file.fileName): mask2polygon needs a 3-D mask") }
        let polygons = try await ComputePool.shared.run { MaskPolygons.polygons(mask, density: density) }
        return try Responses.json(polygons)
    }

    /// 2-D: `poly` is the slice's polygons and the file a PNG of the slice (for
    /// its size); the reply's mask is those polygons filled. 3-D: the file is the
    /// NIfTI mask, `slice_index` the slice, `poly` optional (traced when absent).
    func fixPolygon(_ request: Request, _ context: LumenRequestContext) async throws -> Response {
        _ = try context.require(.annotator)
        let upload = try await UploadedRequest.receive(request, service: service)
        defer { upload.form?.removeFiles() }
        guard let file = upload.form?.files.first else {
            throw ServerError.badRequest("POST /v1/fixpolygon needs the slice (PNG) or the mask (NIfTI) as a file part")
        }
        let params = try ClickParams.object(upload.form?.fields["params"])
        let edit = try Self.edit(params)
        let polygons = try Self.polygons(params["poly"] ?? params["prev_poly"])
        let dimension = try ParamReader(params).int("dimension", in: 2...3) ?? (file.fileName.lowercased().hasSuffix(".png") ? 2 : 3)
        if dimension == 2 {
            guard let polygons else { throw ServerError.badRequest("fixpolygon in 2-D needs params.poly: the slice's polygons as lists of [x, y]") }
            let png = try [UInt8](Data(contentsOf: file.url))
            let limit = min(PNGImage.maxPixels, service.maxVoxels)
            let (image, moved) = try await ComputePool.shared.run {
                try PolygonFix.apply2D(edit, polygons: polygons, slicePNG: png, maxPixels: limit)
            }
            return try MultipartReply.make(json: ["poly": moved], file: Data(image), fileName: "result.png")
        }
        guard let slice = try ParamReader(params).int("slice_index", "sliceIndex", in: 0...Int(Int32.max)) else {
            throw ServerError.badRequest("fixpolygon in 3-D needs params.slice_index: the k of the edited slice")
        }
        let mask = try await service.volume(fromUpload: file.url, name: file.fileName)
        let (fixed, moved) = try await ComputePool.shared.run {
            try PolygonFix.apply3D(edit, mask: mask, slice: slice, polygons: polygons)
        }
        let data = try await service.encodeLabels(fixed)
        return try MultipartReply.make(json: ["poly": moved], file: data, fileName: "result.nii.gz")
    }

    static func edit(_ params: [String: Any]) throws -> PolygonFix.Edit {
        let reader = ParamReader(params)
        let index = 0...Int(Int32.max)
        guard let polygon = try reader.int("polygon_index", "polygonIndex", in: index),
              let vertex = try reader.int("vertex_index", "vertexIndex", in: index) else {
            throw ServerError.badRequest("fixpolygon needs params.polygon_index and params.vertex_index (which vertex was dragged)")
        }
        guard let offset = params["vertex_offset"] as? [Any], offset.count == 2,
              let dx = (offset[0] as? NSNumber)?.doubleValue, let dy = (offset[1] as? NSNumber)?.doubleValue,
              dx.isFinite, dy.isFinite, abs(dx) < 1e5, abs(dy) < 1e5 else {
            throw ServerError.badRequest("fixpolygon needs params.vertex_offset as [dx, dy] in pixels")
        }
        return PolygonFix.Edit(polygonIndex: polygon, vertexIndex: vertex, offset: (dx, dy),
                               neighbours: try reader.int("propagate_neighbor", in: 0...10_000) ?? 0,
                               neighbourSlices: try reader.int("propagate_neighbor_3d", in: 0...10_000) ?? 0)
    }

    /// `poly` as a list of polygons of `[x, y]`, or a JSON string of one.
    static func polygons(_ value: Any?) throws -> [[[Int]]]? {
        guard let value, !(value is NSNull) else { return nil }
        if let text = value as? String {
            guard let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8)) else {
                throw ServerError.badRequest("params.poly is not JSON: \(text.prefix(80))")
            }
            return try polygons(parsed)
        }
        let problem = ServerError.badRequest("params.poly must be a list of polygons, each a list of [x, y] pixels")
        guard let list = value as? [Any] else { throw problem }
        return try list.map { polygon in
            guard let points = polygon as? [Any] else { throw problem }
            return try points.map { point in
                guard let xy = point as? [Any], xy.count == 2,
                      let x = (xy[0] as? NSNumber)?.doubleValue, let y = (xy[1] as? NSNumber)?.doubleValue,
                      x.isFinite, y.isFinite, abs(x) < 1e6, abs(y) < 1e6 else { throw problem }
                return [Int(x.rounded()), Int(y.rounded())]
            }
        }
    }
}
