import ArgumentParser

@main
struct Lumen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lumen",
        abstract: "Annotation server for HPC clusters: MMAR models served natively in Swift.",
        version: "0.1.0",
        subcommands: [InfoCommand.self, ForwardCommand.self, BenchCommand.self, PhantomCommand.self, SegmentCommand.self,
                      IngestCommand.self, DatasetCommand.self, ServeCommand.self, DemoCommand.self, ModelsCommand.self, FinetuneCommand.self,
                      TunnelCommand.self, ClusterCommand.self])
}
