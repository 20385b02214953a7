using System.Globalization;
using System.Text;

namespace Icdiff.Dashboard;

/// <summary>Charts drawn on the server as inline SVG: nothing for the browser to download, nothing to run.</summary>
internal static class SvgCharts
{
    /// <summary>One point of a ratio chart: a run's ratio with its interval.</summary>
    public sealed record Point(string Label, double Ratio, double Lower, double Upper, bool Flagged);

    /// <summary>Ratio per run (a line with a dot per run) over its 95% interval (a band); the y axis spans 0 .. the highest upper bound.</summary>
    public static string Ratio(IReadOnlyList<Point> points, int width = 420, int height = 160)
    {
        const int left = 44, right = 10, top = 10, bottom = 22;
        var plotWidth = width - left - right;
        var plotHeight = height - top - bottom;
        var max = Math.Max(0.05, points.Count == 0 ? 0.05 : points.Max(p => p.Upper));
        max = Math.Ceiling(max * 20) / 20; // whole 5% steps
        double X(int i) => left + (points.Count == 1 ? plotWidth / 2.0 : i * plotWidth / (double)(points.Count - 1));
        double Y(double v) => top + plotHeight - (v / max * plotHeight);
        string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg class=\"ratio-chart\" role=\"img\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\">");
        for (var step = 0; step <= 4; step++)
        {
            var v = max * step / 4;
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" x2=\"{width - right}\" y1=\"{F(Y(v))}\" y2=\"{F(Y(v))}\" stroke=\"#e4e6ee\"/><text x=\"{left - 4}\" y=\"{F(Y(v) + 4)}\" font-size=\"10\" text-anchor=\"end\" fill=\"#667\">{F(v * 100)}%</text>");
        }

        if (points.Count > 0)
        {
            // A single run's interval is drawn as a short bar, not a zero-width band.
            var band = points.Count == 1
                ? $"{F(X(0) - 8)},{F(Y(points[0].Upper))} {F(X(0) + 8)},{F(Y(points[0].Upper))} {F(X(0) + 8)},{F(Y(points[0].Lower))} {F(X(0) - 8)},{F(Y(points[0].Lower))}"
                : string.Join(' ', points.Select((p, i) => $"{F(X(i))},{F(Y(p.Upper))}"))
                    + " " + string.Join(' ', points.Select((p, i) => (p, i)).Reverse().Select(t => $"{F(X(t.i))},{F(Y(t.p.Lower))}"));
            svg.Append(CultureInfo.InvariantCulture, $"<polygon class=\"interval\" points=\"{band}\" fill=\"#2456b3\" fill-opacity=\"0.15\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<polyline points=\"{string.Join(' ', points.Select((p, i) => $"{F(X(i))},{F(Y(p.Ratio))}"))}\" fill=\"none\" stroke=\"#2456b3\" stroke-width=\"2\"/>");
            for (var i = 0; i < points.Count; i++)
            {
                var p = points[i];
                svg.Append(CultureInfo.InvariantCulture, $"<circle class=\"point\" cx=\"{F(X(i))}\" cy=\"{F(Y(p.Ratio))}\" r=\"4\" fill=\"{(p.Flagged ? "#b3261e" : "#2456b3")}\"><title>{Html.E($"{p.Label}: {Html.Percent(p.Ratio)} [{Html.Percent(p.Lower)}, {Html.Percent(p.Upper)}]")}</title></circle>");
            }

            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left}\" y=\"{height - 6}\" font-size=\"10\" fill=\"#667\">{Html.E(points[0].Label)}</text><text x=\"{width - right}\" y=\"{height - 6}\" font-size=\"10\" text-anchor=\"end\" fill=\"#667\">{Html.E(points[^1].Label)}</text>");
        }

        return svg.Append("</svg>").ToString();
    }

    /// <summary>Images per replication level, 0..5, as bars with their counts.</summary>
    public static string Levels(IReadOnlyList<int> levels, int minLevel, int width = 260, int height = 120)
    {
        const int bottom = 18, top = 14;
        var max = Math.Max(1, levels.Count == 0 ? 1 : levels.Max());
        var slot = width / (double)Math.Max(1, levels.Count);
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg class=\"level-histogram\" role=\"img\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\">");
        for (var level = 0; level < levels.Count; level++)
        {
            var h = levels[level] / (double)max * (height - top - bottom);
            var x = (level * slot) + 4;
            var y = height - bottom - h;
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x:0.#}\" y=\"{y:0.#}\" width=\"{slot - 8:0.#}\" height=\"{h:0.#}\" fill=\"{(level >= minLevel ? "#b3261e" : "#8fa3c7")}\"><title>level {level}: {levels[level]}</title></rect>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{x + ((slot - 8) / 2):0.#}\" y=\"{y - 3:0.#}\" font-size=\"10\" text-anchor=\"middle\">{levels[level]}</text>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{x + ((slot - 8) / 2):0.#}\" y=\"{height - 5}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#667\">{level}</text>");
        }

        return svg.Append("</svg>").ToString();
    }
}
