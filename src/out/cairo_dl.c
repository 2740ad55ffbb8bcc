/* cairo, loaded when first used rather than at every start: src/store/pq_dl.c says why (cairo and
 * its X11, fontconfig, freetype and png dependencies were 1.7 M instructions of dynamic loading
 * before main() of every command, callgrind, 3 Dec 2026; only `plot` and the demo draw). These
 * functions, with cairo's own names and prototypes (its headers), open libcairo.so.2 on first call
 * and forward to it. When it cannot be loaded, creating a surface gives NULL, its status an error,
 * and cairo_status_to_string the loader's reason: plot reports it as any cairo failure. Generated
 * from cairo.h's declarations of the functions src/out/plot.c calls; a new one goes in both lists. */
#include <cairo-svg.h>
#include <cairo.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#define CAIRO_FUNCS(X) \
	X(void, cairo_clip, (cairo_t *cr)) \
	X(void, cairo_close_path, (cairo_t *cr)) \
	X(cairo_t *, cairo_create, (cairo_surface_t *target)) \
	X(void, cairo_debug_reset_static_data, (void)) \
	X(void, cairo_destroy, (cairo_t *cr)) \
	X(void, cairo_fill, (cairo_t *cr)) \
	X(void, cairo_font_extents, (cairo_t *cr, cairo_font_extents_t *extents)) \
	X(cairo_surface_t *, cairo_image_surface_create, (cairo_format_t format, int width, int height)) \
	X(void, cairo_line_to, (cairo_t *cr, double x, double y)) \
	X(void, cairo_move_to, (cairo_t *cr, double x, double y)) \
	X(void, cairo_paint, (cairo_t *cr)) \
	X(void, cairo_rectangle, (cairo_t *cr, double x, double y, double width, double height)) \
	X(void, cairo_restore, (cairo_t *cr)) \
	X(void, cairo_rotate, (cairo_t *cr, double angle)) \
	X(void, cairo_save, (cairo_t *cr)) \
	X(void, cairo_select_font_face, (cairo_t *cr, const char *family, cairo_font_slant_t slant, cairo_font_weight_t weight)) \
	X(void, cairo_set_dash, (cairo_t *cr, const double *dashes, int num_dashes, double offset)) \
	X(void, cairo_set_font_size, (cairo_t *cr, double size)) \
	X(void, cairo_set_line_join, (cairo_t *cr, cairo_line_join_t line_join)) \
	X(void, cairo_set_line_width, (cairo_t *cr, double width)) \
	X(void, cairo_set_source_rgb, (cairo_t *cr, double red, double green, double blue)) \
	X(void, cairo_set_source_rgba, (cairo_t *cr, double red, double green, double blue, double alpha)) \
	X(void, cairo_show_text, (cairo_t *cr, const char *utf8)) \
	X(cairo_status_t, cairo_status, (cairo_t *cr)) \
	X(const char *, cairo_status_to_string, (cairo_status_t status)) \
	X(void, cairo_stroke, (cairo_t *cr)) \
	X(void, cairo_surface_destroy, (cairo_surface_t *surface)) \
	X(void, cairo_surface_finish, (cairo_surface_t *surface)) \
	X(cairo_status_t, cairo_surface_status, (cairo_surface_t *surface)) \
	X(cairo_status_t, cairo_surface_write_to_png, (cairo_surface_t *surface, const char *filename)) \
	X(cairo_surface_t *, cairo_svg_surface_create, (const char *filename, double width_in_points, double height_in_points)) \
	X(void, cairo_svg_surface_set_document_unit, (cairo_surface_t *surface, cairo_svg_unit_t unit)) \
	X(void, cairo_text_extents, (cairo_t *cr, const char *utf8, cairo_text_extents_t *extents)) \
	X(void, cairo_translate, (cairo_t *cr, double tx, double ty))

#define CAIRO_PTR(ret, name, params) ret(*name) params;
static struct {
	CAIRO_FUNCS(CAIRO_PTR)
} cairo;
static pthread_once_t cairo_once = PTHREAD_ONCE_INIT;
static int cairo_loaded;
static char cairo_why[256] = "cairo was not loaded";

static void cairo_load(void)
{
	/* global: plot_release_fonts finds fontconfig's FcFini (cairo's dependency) by name */
	void *h = dlopen("libcairo.so.2", RTLD_NOW | RTLD_GLOBAL);
	if (!h) {
		snprintf(cairo_why, sizeof cairo_why, "cairo cannot be loaded (%s)", dlerror());
		return;
	}
#define CAIRO_SYM(ret, name, params)                                                                     \
	if (!(*(void **)&cairo.name = dlsym(h, #name))) {                                                    \
		snprintf(cairo_why, sizeof cairo_why, "libcairo.so.2 has no %s", #name);                         \
		return;                                                                                          \
	}
	CAIRO_FUNCS(CAIRO_SYM)
	cairo_loaded = 1;
}

static int cairo_ready(void)
{
	pthread_once(&cairo_once, cairo_load);
	return cairo_loaded;
}

void cairo_clip(cairo_t *cr)
{
	if (cairo_ready())
		cairo.cairo_clip(cr);
}

void cairo_close_path(cairo_t *cr)
{
	if (cairo_ready())
		cairo.cairo_close_path(cr);
}

cairo_t *cairo_create(cairo_surface_t *target)
{
	return cairo_ready() ? cairo.cairo_create(target) : NULL;
}

void cairo_debug_reset_static_data(void)
{
	if (cairo_ready())
		cairo.cairo_debug_reset_static_data();
}

void cairo_destroy(cairo_t *cr)
{
	if (cairo_ready())
		cairo.cairo_destroy(cr);
}

void cairo_fill(cairo_t *cr)
{
	if (cairo_ready())
		cairo.cairo_fill(cr);
}

void cairo_font_extents(cairo_t *cr, cairo_font_extents_t *extents)
{
	if (cairo_ready())
		cairo.cairo_font_extents(cr, extents);
}

cairo_surface_t *cairo_image_surface_create(cairo_format_t format, int width, int height)
{
	return cairo_ready() ? cairo.cairo_image_surface_create(format, width, height) : NULL;
}

void cairo_line_to(cairo_t *cr, double x, double y)
{
	if (cairo_ready())
		cairo.cairo_line_to(cr, x, y);
}

void cairo_move_to(cairo_t *cr, double x, double y)
{
	if (cairo_ready())
		cairo.cairo_move_to(cr, x, y);
}

void cairo_paint(cairo_t *cr)
{
	if (cairo_ready())
		cairo.cairo_paint(cr);
}

void cairo_rectangle(cairo_t *cr, double x, double y, double width, double height)
{
	if (cairo_ready())
		cairo.cairo_rectangle(cr, x, y, width, height);
}

void cairo_restore(cairo_t *cr)
{
	if (cairo_ready())
		cairo.cairo_restore(cr);
}

void cairo_rotate(cairo_t *cr, double angle)
{
	if (cairo_ready())
		cairo.cairo_rotate(cr, angle);
}

void cairo_save(cairo_t *cr)
{
	if (cairo_ready())
		cairo.cairo_save(cr);
}

void cairo_select_font_face(cairo_t *cr, const char *family, cairo_font_slant_t slant, cairo_font_weight_t weight)
{
	if (cairo_ready())
		cairo.cairo_select_font_face(cr, family, slant, weight);
}

void cairo_set_dash(cairo_t *cr, const double *dashes, int num_dashes, double offset)
{
	if (cairo_ready())
		cairo.cairo_set_dash(cr, dashes, num_dashes, offset);
}

void cairo_set_font_size(cairo_t *cr, double size)
{
	if (cairo_ready())
		cairo.cairo_set_font_size(cr, size);
}

void cairo_set_line_join(cairo_t *cr, cairo_line_join_t line_join)
{
	if (cairo_ready())
		cairo.cairo_set_line_join(cr, line_join);
}

void cairo_set_line_width(cairo_t *cr, double width)
{
	if (cairo_ready())
		cairo.cairo_set_line_width(cr, width);
}

void cairo_set_source_rgb(cairo_t *cr, double red, double green, double blue)
{
	if (cairo_ready())
		cairo.cairo_set_source_rgb(cr, red, green, blue);
}

void cairo_set_source_rgba(cairo_t *cr, double red, double green, double blue, double alpha)
{
	if (cairo_ready())
		cairo.cairo_set_source_rgba(cr, red, green, blue, alpha);
}

void cairo_show_text(cairo_t *cr, const char *utf8)
{
	if (cairo_ready())
		cairo.cairo_show_text(cr, utf8);
}

cairo_status_t cairo_status(cairo_t *cr)
{
	return cairo_ready() ? cairo.cairo_status(cr) : CAIRO_STATUS_DEVICE_ERROR;
}

const char *cairo_status_to_string(cairo_status_t status)
{
	return cairo_ready() ? cairo.cairo_status_to_string(status) : cairo_why;
}

void cairo_stroke(cairo_t *cr)
{
	if (cairo_ready())
		cairo.cairo_stroke(cr);
}

void cairo_surface_destroy(cairo_surface_t *surface)
{
	if (cairo_ready())
		cairo.cairo_surface_destroy(surface);
}

void cairo_surface_finish(cairo_surface_t *surface)
{
	if (cairo_ready())
		cairo.cairo_surface_finish(surface);
}

cairo_status_t cairo_surface_status(cairo_surface_t *surface)
{
	return cairo_ready() ? cairo.cairo_surface_status(surface) : CAIRO_STATUS_DEVICE_ERROR;
}

cairo_status_t cairo_surface_write_to_png(cairo_surface_t *surface, const char *filename)
{
	return cairo_ready() ? cairo.cairo_surface_write_to_png(surface, filename) : CAIRO_STATUS_DEVICE_ERROR;
}

cairo_surface_t *cairo_svg_surface_create(const char *filename, double width_in_points, double height_in_points)
{
	return cairo_ready() ? cairo.cairo_svg_surface_create(filename, width_in_points, height_in_points) : NULL;
}

void cairo_svg_surface_set_document_unit(cairo_surface_t *surface, cairo_svg_unit_t unit)
{
	if (cairo_ready())
		cairo.cairo_svg_surface_set_document_unit(surface, unit);
}

void cairo_text_extents(cairo_t *cr, const char *utf8, cairo_text_extents_t *extents)
{
	if (cairo_ready())
		cairo.cairo_text_extents(cr, utf8, extents);
}

void cairo_translate(cairo_t *cr, double tx, double ty)
{
	if (cairo_ready())
		cairo.cairo_translate(cr, tx, ty);
}
