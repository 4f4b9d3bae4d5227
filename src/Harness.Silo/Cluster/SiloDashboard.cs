using Microsoft.Extensions.Hosting;
#if !MIPIN_NO_DASHBOARD
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Orleans.Dashboard;
#endif

namespace Harness.Silo.Cluster;

/// <summary>
/// The Orleans dashboard a standing silo serves when asked (<c>mipin silo --dashboard PORT</c>): grains, silos and call
/// rates, from ASP.NET Core inside the silo process. A build made with <c>-p:MipInDashboard=false</c> leaves the
/// dashboard and ASP.NET Core out (the GPU device package does: with them it no longer fits the 64 MiB the device tool
/// carries); there <see cref="Included"/> is false and asking for a dashboard is refused.
/// </summary>
public static class SiloDashboard
{
#if MIPIN_NO_DASHBOARD
    /// <summary>Whether this build can serve the dashboard.</summary>
    public const bool Included = false;
#else
    /// <summary>Whether this build can serve the dashboard.</summary>
    public const bool Included = true;
#endif

    /// <summary>What to tell a user who asks a build without it for the dashboard.</summary>
    public const string NotIncludedMessage =
        "this mipin was built without the Orleans dashboard (-p:MipInDashboard=false, as scripts/package-device.sh builds it); run the silo from a checkout (./mipin silo) to serve it";

    /// <summary>The silo's host builder: a web application when <paramref name="port"/> is set, a plain host otherwise.</summary>
    public static IHostApplicationBuilder CreateBuilder(int? port)
    {
        if (port is null) return Host.CreateApplicationBuilder();
#if MIPIN_NO_DASHBOARD
        throw new NotSupportedException(NotIncludedMessage);
#else
        return WebApplication.CreateBuilder();
#endif
    }

    /// <summary>Adds the dashboard's grains and services to the silo (it keeps its own reminders in memory).</summary>
    public static void AddTo(ISiloBuilder silo)
    {
#if MIPIN_NO_DASHBOARD
        throw new NotSupportedException(NotIncludedMessage);
#else
        silo.UseInMemoryReminderService().AddDashboard();
#endif
    }

    /// <summary>
    /// Builds the host; a web application from <see cref="CreateBuilder"/> serves the dashboard on 127.0.0.1:<paramref name="port"/>
    /// only, because the dashboard has no authentication (reach it through an SSH tunnel).
    /// </summary>
    public static IHost Build(IHostApplicationBuilder builder, int? port)
    {
#if !MIPIN_NO_DASHBOARD
        if (builder is WebApplicationBuilder web)
        {
            web.WebHost.UseUrls($"http://127.0.0.1:{port}");
            var app = web.Build();
            app.MapOrleansDashboard();
            return app;
        }
#endif
        return ((HostApplicationBuilder)builder).Build();
    }
}
