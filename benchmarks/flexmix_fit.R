# Fit the benchmark mixture with R flexmix from fmmreg's starting posterior.
# Usage: Rscript flexmix_fit.R data.csv posterior.csv poisson|gaussian out.txt
# Prints (to out.txt): elapsed seconds of the flexmix() call, EM iterations, log likelihood.
suppressPackageStartupMessages(library(flexmix))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
post <- as.matrix(read.csv(args[2]))
kind <- args[3]
ctrl <- list(tolerance = 1e-8, iter.max = 5000, minprior = 0)
t0 <- proc.time()
if (kind == "poisson") {
  m <- flexmix(y ~ x1 + x2 + x3 + x4 + x5, data = d, k = ncol(post), cluster = post,
               model = FLXMRglm(family = "poisson"),
               concomitant = FLXPmultinom(~ z1 + z2), control = ctrl)
} else {
  m <- flexmix(y ~ x1 + x2 + x3, data = d, k = ncol(post), cluster = post,
               model = FLXMRglm(family = "gaussian"), control = ctrl)
}
el <- (proc.time() - t0)[["elapsed"]]
writeLines(sprintf("%.4f %d %.10f", el, m@iter, as.numeric(logLik(m))), args[4])
