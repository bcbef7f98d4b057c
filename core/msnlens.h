#pragma once
// MSN Lens's engine as its front ends see it: the one core header the app (ui/, app/gui)
// includes. A Workbench holds a model and images; a ViewRequest says what to look at; the
// ShownView it answers with holds everything to draw, decided here so every front end draws the
// same thing. Plain values in and out; failures throw msnlens::Error with one line.
//
//   msnlens::Workbench bench;
//   const msnlens::ModelDescription& model = bench.load_model("resources/models/msn-fmnist");
//   bench.add_image(1, msnlens::read_image("boot.png"));
//   msnlens::ViewRequest request;
//   request.image_id = 1;
//   request.mask = msnlens::PatchMask::parse("3,17,40", model.grid_rows, model.grid_cols);
//   request.maps.map.source = msnlens::MapSpec::Source::Rollout;
//   request.ranking = bench.predictor().preferred();
//   const msnlens::ShownView view = bench.show(request);
//   // view.display.values: the heat map in [0, 1]; view.caption: what it shows;
//   // view.response->cls_cosine: how far masking moved the CLS embedding.

#include "analysis/masking_response.h"  // cosine, KL, top indices and rank moves between two read-outs
#include "analysis/shown_view.h"      // ViewRequest, ShownView and what they hold
#include "common/error.h"             // Error
#include "common/npy_file.h"          // write_npy, write_csv: raw maps for NumPy and spreadsheets
#include "engine/workbench.h"         // Workbench, ModelDescription, WorkbenchOptions
#include "imaging/colormap.h"         // Colormap, colormaps()
#include "imaging/image_file.h"       // read_image, decode_image (with OpenCV)
#include "imaging/image_header.h"     // kMaxImagePixels
