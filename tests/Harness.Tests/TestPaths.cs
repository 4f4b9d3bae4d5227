namespace Harness.Tests;

/// <summary>Locations of test inputs: files copied next to the test assembly, and the repository root.</summary>
public static class TestPaths
{
    public static string Fixture(params string[] parts) =>
        Path.Combine(new[] { AppContext.BaseDirectory }.Concat(parts).ToArray());

    /// <summary>The repository root (the folder holding MipIn.sln), found by walking up from the test binaries.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Repo(params string[] parts) => Path.Combine(new[] { RepoRoot }.Concat(parts).ToArray());

    /// <summary>The CLI as built next to the test binaries, to run with <c>dotnet</c> in a child process.</summary>
    public static string Cli { get; } = Path.Combine(AppContext.BaseDirectory, "mipin.dll");

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MipIn.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"MipIn.sln not found above {AppContext.BaseDirectory}");
    }
}
