namespace Harness.Client.Commands;

/// <summary>Parses repeated `--set METHOD.OPTION=VALUE` arguments into per-method option dictionaries.</summary>
public static class MethodOptionArguments
{
    public static Dictionary<string, IReadOnlyDictionary<string, string>> Parse(IEnumerable<string> arguments, IReadOnlyCollection<string> methods)
    {
        var result = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var argument in arguments)
        {
            var eq = argument.IndexOf('=');
            var dot = argument.IndexOf('.');
            if (eq < 0 || dot < 0 || dot > eq)
                throw new CommandLineException($"--set '{argument}': expected METHOD.OPTION=VALUE, e.g. gradcam.layer=features.17");
            var method = argument[..dot];
            if (!methods.Contains(method))
                throw new CommandLineException($"--set '{argument}': method '{method}' is not among --methods ({string.Join(", ", methods)})");
            if (!result.TryGetValue(method, out var options)) result[method] = options = new Dictionary<string, string>(StringComparer.Ordinal);
            options[argument[(dot + 1)..eq]] = argument[(eq + 1)..];
        }
        return result.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, string>)kv.Value, StringComparer.Ordinal);
    }
}
