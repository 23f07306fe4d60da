// Flags-only system library: its module exists so that SwiftPM reads ale.pc (include path,
// library path, rpath and -lale) for the targets that depend on it. Nothing is declared here.
