//! The weekly report's chart, drawn in-process as a PNG (plotters): tickets per day stacked by
//! network, and the first-response median per day on a second axis. Text needs a TrueType
//! font read at run time (`report.font`); without one the chart is drawn without text and the
//! message carries the figures.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::NaiveDate;
use image::ImageEncoder;
use plotters::prelude::*;

use crate::core::Network;

/// The chart's size in pixels.
pub const WIDTH: u32 = 960;
pub const HEIGHT: u32 = 480;

/// The family name the font is registered under.
const FAMILY: &str = "sans-serif";

/// One day of the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct DayPoint {
    pub day: NaiveDate,
    /// New tickets that day, per network.
    pub tickets: BTreeMap<Network, u64>,
    /// The median first response of the tickets opened that day, in minutes.
    pub first_response_p50_minutes: Option<f64>,
}

/// Register the font at `path` once per process; whether text can be drawn.
pub fn load_font(path: &str) -> bool {
    static LOADED: OnceLock<bool> = OnceLock::new();
    *LOADED.get_or_init(|| match std::fs::read(path) {
        // Leaked once: plotters keeps fonts for the life of the process.
        Ok(bytes) => plotters::style::register_font(
            FAMILY,
            FontStyle::Normal,
            Box::leak(bytes.into_boxed_slice()),
        )
        .is_ok(),
        Err(e) => {
            tracing::warn!(path, error = %e, "report font not readable: the chart has no text");
            false
        }
    })
}

/// A fixed colour per network (the legend in the message names them).
pub fn colour(network: Network) -> RGBColor {
    match network {
        Network::Facebook => RGBColor(24, 119, 242),
        Network::Instagram => RGBColor(225, 48, 108),
        Network::Whatsapp => RGBColor(37, 211, 102),
        Network::X => RGBColor(20, 23, 26),
        Network::Linkedin => RGBColor(10, 102, 194),
        Network::Youtube => RGBColor(255, 0, 0),
        Network::Tiktok => RGBColor(105, 201, 208),
        Network::Google => RGBColor(251, 188, 4),
    }
}

/// The chart as PNG bytes; `text`: whether a font was loaded (see [`load_font`]).
pub fn render_png(days: &[DayPoint], text: bool) -> anyhow::Result<Vec<u8>> {
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    draw(&mut rgb, days, text).map_err(|e| anyhow::anyhow!("cannot draw the chart: {e}"))?;
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png).write_image(
        &rgb,
        WIDTH,
        HEIGHT,
        image::ColorType::Rgb8,
    )?;
    Ok(png)
}

fn draw<'a>(
    rgb: &'a mut [u8],
    days: &[DayPoint],
    text: bool,
) -> Result<(), Box<dyn std::error::Error + 'a>> {
    let root = BitMapBackend::with_buffer(rgb, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let n = days.len().max(1) as f64;
    let most = days
        .iter()
        .map(|d| d.tickets.values().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slowest = days
        .iter()
        .filter_map(|d| d.first_response_p50_minutes)
        .fold(1.0_f64, f64::max);
    let mut builder = ChartBuilder::on(&root);
    builder.margin(16);
    if text {
        builder
            .caption(
                "New tickets per day by network · first-response median (minutes)",
                (FAMILY, 20),
            )
            .x_label_area_size(32)
            .y_label_area_size(48)
            .right_y_label_area_size(48);
    }
    let mut chart = builder
        .build_cartesian_2d(-0.5..(n - 0.5), 0.0..most * 1.15)?
        .set_secondary_coord(-0.5..(n - 0.5), 0.0..slowest * 1.15);
    if text {
        let label = |x: &f64| {
            let i = x.round();
            if (x - i).abs() > 0.01 || i < 0.0 {
                return String::new();
            }
            days.get(i as usize)
                .map(|d| d.day.format("%a %-d").to_string())
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(days.len().max(1))
            .x_label_formatter(&label)
            .y_desc("tickets")
            .label_style((FAMILY, 14))
            .draw()?;
        chart
            .configure_secondary_axes()
            .y_desc("minutes")
            .label_style((FAMILY, 14))
            .draw()?;
    } else {
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_labels(0)
            .draw()?;
    }
    for (i, d) in days.iter().enumerate() {
        let x = i as f64;
        let mut base = 0.0;
        for (network, count) in &d.tickets {
            let top = base + *count as f64;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x - 0.35, base), (x + 0.35, top)],
                colour(*network).filled(),
            )))?;
            base = top;
        }
    }
    let line: Vec<(f64, f64)> = days
        .iter()
        .enumerate()
        .filter_map(|(i, d)| Some((i as f64, d.first_response_p50_minutes?)))
        .collect();
    let ink = RGBColor(90, 90, 90);
    chart.draw_secondary_series(LineSeries::new(line.clone(), ink.stroke_width(3)))?;
    chart.draw_secondary_series(line.into_iter().map(|p| Circle::new(p, 5, ink.filled())))?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn week() -> Vec<DayPoint> {
        let start = NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
        (0..7)
            .map(|i| DayPoint {
                day: start + chrono::Duration::days(i),
                tickets: BTreeMap::from([
                    (Network::Facebook, 3 + i as u64),
                    (Network::Youtube, (i % 3) as u64),
                ]),
                first_response_p50_minutes: (i != 3).then_some(10.0 + i as f64 * 4.0),
            })
            .collect()
    }

    fn decode(png: &[u8]) -> image::RgbImage {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG signature");
        image::load_from_memory_with_format(png, image::ImageFormat::Png)
            .expect("a valid PNG")
            .to_rgb8()
    }

    fn has(img: &image::RgbImage, c: RGBColor) -> bool {
        img.pixels().any(|p| p.0 == [c.0, c.1, c.2])
    }

    #[test]
    fn the_chart_is_a_valid_png_with_a_bar_colour_per_network() {
        let img = decode(&render_png(&week(), false).expect("renders"));
        assert_eq!(img.dimensions(), (WIDTH, HEIGHT));
        assert!(has(&img, colour(Network::Facebook)));
        assert!(has(&img, colour(Network::Youtube)));
        assert!(!has(&img, colour(Network::Tiktok)), "no TikTok that week");
    }

    #[test]
    fn with_a_font_the_chart_has_text_and_an_empty_week_still_draws() {
        let font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
        let text = load_font(font);
        // The machine may lack the font: then it must say so rather than fail.
        assert_eq!(text, std::path::Path::new(font).exists());
        let png = render_png(&week(), text).expect("renders");
        decode(&png);
        if let Ok(path) = std::env::var("SWITCHBOARD_CHART_SAMPLE") {
            std::fs::write(path, &png).expect("sample written");
        }
        let empty = render_png(&[], text).expect("an empty week renders");
        decode(&empty);
    }
}
