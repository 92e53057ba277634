//! The report's charts, drawn as inline SVG by plotters.

use plotters::prelude::*;

/// One line of a chart: a name, a colour, and a value per x position (`None`: no point there),
/// with the number of changes each point stands on, which sizes its dot.
pub struct Series {
    pub name: String,
    pub color: RGBColor,
    pub points: Vec<Option<(f64, usize)>>,
}

/// Colours for series, told apart also in greyscale print.
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(140, 86, 75),
];

/// How a chart is laid out.
pub struct Frame<'a> {
    pub title: &'a str,
    pub y_label: &'a str,
    /// Width and height in pixels.
    pub size: (u32, u32),
    /// Fixes the y range to percentages (0-100), else it fits the data.
    pub percent: bool,
}

/// A line chart of `series` over the x labels `labels` as an SVG document. The legend is left to
/// the page, where it cannot hide a line.
pub fn lines(frame: &Frame<'_>, labels: &[String], series: &[Series]) -> String {
    let mut svg = String::new();
    let drawn = draw(&mut svg, frame, labels, series).map_err(|e| e.to_string());
    match drawn {
        Ok(()) => svg,
        Err(e) => format!("<svg xmlns=\"http://www.w3.org/2000/svg\"><text y=\"20\">chart not drawn: {e}</text></svg>"),
    }
}

fn draw<'a>(
    svg: &'a mut String,
    frame: &Frame<'_>,
    labels: &[String],
    series: &[Series],
) -> Result<(), Box<dyn std::error::Error + 'a>> {
    let root = SVGBackend::with_string(svg, frame.size).into_drawing_area();
    root.fill(&WHITE)?;
    let n = labels.len().max(1);
    let top = match frame.percent {
        // Room above 100% for the largest dots, which would otherwise run into the title.
        true => 106.0,
        false => {
            let max = series
                .iter()
                .flat_map(|s| s.points.iter().flatten())
                .map(|(v, _)| *v)
                .fold(0.0, f64::max);
            (max * 1.1).max(1.0)
        }
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(frame.title, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(28)
        .y_label_area_size(48)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..top)?;
    // A label every few quarters keeps them legible over a decade.
    let every = n.div_ceil((frame.size.0 / 80).max(1) as usize).max(1);
    chart
        .configure_mesh()
        .x_labels(n)
        .x_label_formatter(&|x| {
            let i = x.round();
            let shown =
                i >= 0.0 && (i as usize) < labels.len() && (i as usize).is_multiple_of(every) && (x - i).abs() < 1e-6;
            match shown {
                true => labels[i as usize].clone(),
                false => String::new(),
            }
        })
        .y_label_formatter(&|y| match frame.percent {
            true if *y > 100.0 => String::new(),
            true => format!("{y:.0}%"),
            false => format!("{y:.0}"),
        })
        .y_labels(6)
        .y_desc(frame.y_label)
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let biggest = series
        .iter()
        .flat_map(|s| s.points.iter().flatten())
        .map(|(_, n)| *n)
        .max()
        .unwrap_or(1)
        .max(1);
    for s in series {
        let color = s.color;
        // Unbroken runs of points: a quarter without changes breaks the line.
        let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for (x, p) in s.points.iter().enumerate() {
            match p {
                Some((v, _)) => runs.last_mut().expect("never empty").push((x as f64, *v)),
                None => runs.push(Vec::new()),
            }
        }
        for run in runs.into_iter().filter(|r| !r.is_empty()) {
            chart.draw_series(LineSeries::new(run, color.stroke_width(2)))?;
        }
        chart.draw_series(s.points.iter().enumerate().filter_map(|(x, p)| {
            let (v, n) = (*p)?;
            let r = 2.0 + 5.0 * (n as f64 / biggest as f64).sqrt();
            Some(Circle::new((x as f64, v), r as i32, color.filled()))
        }))?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_an_svg_with_its_labels() {
        let labels = vec!["2024-Q1".to_owned(), "2024-Q2".to_owned(), "2024-Q3".to_owned()];
        let series = [Series {
            name: "implementation-history".into(),
            color: PALETTE[0],
            points: vec![Some((50.0, 10)), None, Some((75.0, 4))],
        }];
        let frame = Frame {
            title: "Compliance",
            y_label: "% of changes",
            size: (480, 220),
            percent: true,
        };
        let svg = lines(&frame, &labels, &series);
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("2024-Q1") && svg.contains("Compliance"), "{svg}");
        assert!(svg.contains("<circle"), "{svg}");
    }
}
